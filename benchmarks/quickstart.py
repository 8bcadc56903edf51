"""The quickstart (trials/quickstart/exp.yaml: 10 torch trials, two at a time) with trials
started plain and forked from a template that imported torch (its ``trial_launcher``), in
alternating pairs, with the same seeded tuner: the wall time of each whole experiment and
whether both found the same results (the trials are deterministic).

    python benchmarks/quickstart.py --pairs 1 --trials 10

Prints one JSON line, with the CPU seconds of each run (the experiment's process, its
trials and the template), which a shared machine's load moves less than the wall time; see
benchmarks/README.md.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from _common import BenchmarkFailed, report, sizes

from asyncnni.catalog import export_rows
from asyncnni.config import TrialLauncherConfig, load_config
from asyncnni.experiment import Experiment

QUICKSTART = Path(__file__).resolve().parent.parent / "trials" / "quickstart" / "exp.yaml"


def cpu_s() -> float:
    """CPU seconds so far of this process and of the children it (or they) waited for."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )


def run(mode: str, trials: int, working_directory: Path) -> tuple[float, float, dict]:
    config = load_config(QUICKSTART)
    launcher = config.training_service.trial_launcher or TrialLauncherConfig()
    config = dataclasses.replace(
        config,
        max_trial_number=trials,
        experiment_working_directory=working_directory,
        tuner=dataclasses.replace(
            config.tuner, class_args={"optimize_mode": "maximize", "seed": 0}
        ),
        training_service=dataclasses.replace(
            config.training_service,
            trial_launcher=dataclasses.replace(launcher, mode=mode),
        ),
    )
    experiment = Experiment(config)
    start, cpu = time.perf_counter(), cpu_s()
    result = experiment.run()
    wall, cpu = time.perf_counter() - start, cpu_s() - cpu
    if result.status != "DONE" or result.progress.succeeded != trials:
        raise BenchmarkFailed(f"{mode}: {result.status}, {result.progress}: {result.message}")
    rows = export_rows(working_directory, experiment.id)
    return wall, cpu, {row["parameter_id"]: row["final_metric"] for row in rows}


def main() -> None:
    args = sizes(__doc__, pairs=(1, "alternating pairs (plain, then fork)"), trials=(10, "trials"))
    plain, fork, plain_cpu, fork_cpu, same = [], [], [], [], True
    with tempfile.TemporaryDirectory(prefix="asyncnni-bench-") as tmp:
        # torch keeps a cache folder in the temporary folder; it goes with the benchmark's
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(Path(tmp) / "torchinductor"))
        for _ in range(args.pairs):
            wall_plain, cpu_plain, results_plain = run("plain", args.trials, Path(tmp))
            wall_fork, cpu_fork, results_fork = run("fork", args.trials, Path(tmp))
            plain.append(wall_plain)
            fork.append(wall_fork)
            plain_cpu.append(cpu_plain)
            fork_cpu.append(cpu_fork)
            same = same and results_plain == results_fork
    plain_s, fork_s = statistics.median(plain), statistics.median(fork)
    report(
        "quickstart",
        trials=args.trials,
        pairs=args.pairs,
        plain_s=round(plain_s, 2),
        fork_s=round(fork_s, 2),
        speedup=round(plain_s / fork_s, 2),
        plain_cpu_s=round(statistics.median(plain_cpu), 1),
        fork_cpu_s=round(statistics.median(fork_cpu), 1),
        cpu_ratio=round(statistics.median(plain_cpu) / statistics.median(fork_cpu), 2),
        same_results=same,
        plain_s_runs=[round(x, 2) for x in plain],
        fork_s_runs=[round(x, 2) for x in fork],
    )


if __name__ == "__main__":
    main()
