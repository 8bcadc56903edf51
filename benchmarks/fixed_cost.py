"""The fixed cost of ``asyncnni run``: the wall time of a whole run of an experiment of one
trivial trial (imports, config, store, tuner set-up, the trial's start and its one result,
shutdown), against a bare interpreter start (``python -c pass``), in alternating rounds,
with two of its parts timed alone in each round: a fresh interpreter that imports what the
run imports, and one that imports what a trial imports before it speaks.

    python benchmarks/fixed_cost.py --pairs 5

Prints one JSON line: medians, and the CPU seconds (user + system, the run and its trial)
of the median run; see benchmarks/README.md.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import BenchmarkFailed, report, sizes

TRIALS = Path(__file__).resolve().parent / "trials"
ASYNCNNI = Path(sys.executable).parent / "asyncnni"
# what `asyncnni run` of a Random-tuner experiment on the local service imports, as it does
RUN_IMPORTS = (
    "import asyncnni.cli; asyncnni.cli.numpy_with_one_blas_thread(); "
    "import asyncnni.experiment, asyncnni.progress, asyncnni.search_space, "
    "asyncnni.tuners.random, asyncnni.training.local, anyio._backends._asyncio, numpy.random; "
    "import os; os._exit(0)"  # as the run leaves: without tearing its modules down
)
# what a trial imports before its first request: the trial API and the client's socket
TRIAL_IMPORTS = "import asyncnni, asyncnni.transport"


def timed(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (of it and the children it waited for) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise BenchmarkFailed(f"{command} exited {done.returncode}: {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    args = sizes(__doc__, pairs=(5, "alternating pairs (bare interpreter, then asyncnni run)"))
    runs, cpus, bare, imports, trial_imports = [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="asyncnni-bench-") as tmp:
        config = Path(tmp) / "exp.yaml"
        config.write_text(
            "search_space: {x: {_type: uniform, _value: [0, 1]}}\n"
            "trial_command: python one_result.py\n"
            f"trial_code_directory: {TRIALS}\n"
            "max_trial_number: 1\n"
            "tuner: {name: Random}\n"
            f"experiment_working_directory: {tmp}/experiments\n"
        )
        for _ in range(args.pairs):
            bare.append(timed([sys.executable, "-c", "pass"])[0])
            imports.append(timed([sys.executable, "-c", RUN_IMPORTS])[0])
            trial_imports.append(timed([sys.executable, "-c", TRIAL_IMPORTS])[0])
            wall, cpu = timed([str(ASYNCNNI), "run", str(config), "--quiet"])
            runs.append(wall)
            cpus.append(cpu)
    run_s, bare_s = statistics.median(runs), statistics.median(bare)
    imports_s, trial_imports_s = statistics.median(imports), statistics.median(trial_imports)
    report(
        "fixed_cost",
        pairs=args.pairs,
        run_s=round(run_s, 3),
        bare_interpreter_s=round(bare_s, 3),
        run_minus_bare_s=round(run_s - bare_s, 3),
        run_imports_s=round(imports_s, 3),
        trial_imports_s=round(trial_imports_s, 3),
        # the run less its two interpreters with their imports: config, store, tuner
        # set-up, sockets, the trial's two round trips, both exits
        run_rest_s=round(run_s - imports_s - trial_imports_s, 3),
        run_s_runs=[round(x, 3) for x in runs],
        bare_interpreter_s_runs=[round(x, 3) for x in bare],
        run_cpu_s=round(cpus[runs.index(sorted(runs)[len(runs) // 2])], 3),
    )


if __name__ == "__main__":
    main()
