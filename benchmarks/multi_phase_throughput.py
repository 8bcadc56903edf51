"""Configurations per second of a multi-phase experiment: ``--workers`` long-running trial
jobs each loop over configurations until None, with the Random tuner,
``max_configuration_number: --configs``; each job times its own asks. Two ways to loop
(``--api``): ``separate`` (report_final_result, then get_next_parameter: two round trips
per configuration) and ``combined`` (report_final_result_and_get_next: one). With
``--raw``, the raw pyzmq + msgpack round trips per second of as many client processes
(NEW_TRIAL -> PARAMETERS against a bare ROUTER) in the same run, before each measurement.

    python benchmarks/multi_phase_throughput.py --workers 8 --configs 20000 --raw 1

Prints one JSON line per api; see benchmarks/README.md.
"""

from __future__ import annotations

import os
import statistics

import anyio
import numpy as np
from _common import BenchmarkFailed, report, sizes, timed_experiment

from asyncnni.bench.report import percentiles_us
from asyncnni.bench.scenarios import measure_raw


def ours(api: str, workers: int, configs: int) -> tuple[float, np.ndarray, int]:
    os.environ["BENCH_API"] = api
    with timed_experiment(
        "config_loop.py",
        multi_phase=True,
        max_configuration_number=configs,
        trial_concurrency=workers,
    ) as run:
        files = sorted((run.result.folder / "trials").glob("*/get_latencies.bin"))
        latencies = np.concatenate([np.fromfile(f, dtype=np.int64) for f in files])
    if latencies.size != configs:
        raise BenchmarkFailed(
            f"the trials timed {latencies.size} configurations, expected {configs}"
        )
    return configs / run.wall_s, latencies, len(files)


def main() -> None:
    args = sizes(
        __doc__,
        workers=(8, "trial_concurrency"),
        configs=(20_000, "max_configuration_number"),
        raw=(0, "1: measure the raw round trips of as many clients before each run"),
        pairs=(1, "runs of each api (with --raw 1, each after its raw baseline)"),
    )
    for api in ("separate", "combined"):
        rates, raws, latencies, jobs = [], [], [], 0
        for _ in range(args.pairs):
            if args.raw:
                record = anyio.run(measure_raw, "asks", args.workers, args.configs, "ipc", 1)
                raws.append(record["messages_per_s"])
            rate, lat, jobs = ours(api, args.workers, args.configs)
            rates.append(rate)
            latencies.append(lat)
        rate = statistics.median(rates)
        figures = {}
        if raws:
            raw = statistics.median(raws)
            figures = {
                "raw_round_trips_per_s": round(raw),
                "round_trips_per_config": 1 if api == "combined" else 2,
                "fraction_of_raw_round_trips": round(
                    rate * (1 if api == "combined" else 2) / raw, 3
                ),
            }
        get = percentiles_us(np.concatenate(latencies))
        report(
            "multi_phase_throughput",
            api=api,
            workers=args.workers,
            configs=args.configs,
            trial_jobs=jobs,
            configs_per_s=round(rate, 1),
            configs_per_s_runs=[round(r, 1) for r in rates],
            get_p50_us=get["p50_us"],
            get_p99_us=get["p99_us"],
            **figures,
        )


if __name__ == "__main__":
    main()
