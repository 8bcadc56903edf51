"""The fixed cost of ``asyncnni run``: the wall time of a whole run of an experiment of one
trivial trial (imports, config, store, tuner set-up, the trial's start and its one result,
shutdown), against a bare interpreter start (``python -c pass``), in alternating pairs.

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
    runs, cpus, bare = [], [], []
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
            wall, cpu = timed([str(ASYNCNNI), "run", str(config), "--quiet"])
            runs.append(wall)
            cpus.append(cpu)
    run_s, bare_s = statistics.median(runs), statistics.median(bare)
    report(
        "fixed_cost",
        pairs=args.pairs,
        run_s=round(run_s, 3),
        bare_interpreter_s=round(bare_s, 3),
        run_minus_bare_s=round(run_s - bare_s, 3),
        run_s_runs=[round(x, 3) for x in runs],
        bare_interpreter_s_runs=[round(x, 3) for x in bare],
        run_cpu_s=round(cpus[runs.index(sorted(runs)[len(runs) // 2])], 3),
    )


if __name__ == "__main__":
    main()
