"""Configurations per second of a multi-phase experiment: ``--workers`` long-running trial
jobs each loop get_next_parameter + report_final_result until None, with the Random tuner,
``max_configuration_number: --configs``; each job times its own get_next_parameter calls.

    python benchmarks/multi_phase_throughput.py --workers 8 --configs 20000

Prints one JSON line; see benchmarks/README.md.
"""

from __future__ import annotations

import numpy as np
from _common import BenchmarkFailed, report, sizes, timed_experiment

from asyncnni.bench.report import percentiles_us


def main() -> None:
    args = sizes(
        __doc__, workers=(8, "trial_concurrency"), configs=(20_000, "max_configuration_number")
    )
    with timed_experiment(
        "config_loop.py",
        multi_phase=True,
        max_configuration_number=args.configs,
        trial_concurrency=args.workers,
    ) as run:
        files = sorted((run.result.folder / "trials").glob("*/get_latencies.bin"))
        latencies = np.concatenate([np.fromfile(f, dtype=np.int64) for f in files])
    if latencies.size != args.configs:
        raise BenchmarkFailed(
            f"the trials timed {latencies.size} configurations, expected {args.configs}"
        )
    get = percentiles_us(latencies)
    report(
        "multi_phase_throughput",
        workers=args.workers,
        configs=args.configs,
        trial_jobs=len(files),
        wall_s=round(run.wall_s, 3),
        configs_per_s=round(args.configs / run.wall_s, 1),
        get_p50_us=get["p50_us"],
        get_p99_us=get["p99_us"],
    )


if __name__ == "__main__":
    main()
