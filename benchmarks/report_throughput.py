"""Intermediate results per second through the public API: ``--trials`` trial jobs at once
each call ``report_intermediate_result`` ``--reports`` times and then
``report_final_result`` (which returns once every report is stored), against the raw
pyzmq + msgpack one-way limit (the same number of client processes sending as many reports
to a bare ROUTER that never answers), measured in alternation in the same run.

    python benchmarks/report_throughput.py --trials 8 --reports 25000 --pairs 2

Prints one JSON line; see benchmarks/README.md.
"""

from __future__ import annotations

import os
import statistics

import anyio
import numpy as np
from _common import BenchmarkFailed, report, sizes, timed_experiment

from asyncnni.bench.scenarios import measure_raw


def ours(trials: int, reports: int) -> float:
    os.environ["BENCH_REPORTS"] = str(reports)
    with timed_experiment(
        "report_loop.py", max_trial_number=trials, trial_concurrency=trials
    ) as run:
        spans = [
            np.fromfile(f, dtype=np.int64)
            for f in (run.result.folder / "trials").glob("*/report_span.bin")
        ]
    if len(spans) != trials:
        raise BenchmarkFailed(f"{len(spans)} of {trials} trials wrote their span")
    seconds = (max(s[1] for s in spans) - min(s[0] for s in spans)) / 1e9
    return trials * reports / seconds


def raw(trials: int, reports: int) -> float:
    record = anyio.run(measure_raw, "oneway", trials, trials * reports, "ipc", 64)
    return record["messages_per_s"]


def main() -> None:
    args = sizes(
        __doc__,
        trials=(8, "trial jobs reporting at once"),
        reports=(25_000, "intermediate results per trial"),
        pairs=(2, "A/B pairs (raw, then ours), alternating"),
    )
    mine, limit = [], []
    for _ in range(args.pairs):
        limit.append(raw(args.trials, args.reports))
        mine.append(ours(args.trials, args.reports))
    ours_median, raw_median = statistics.median(mine), statistics.median(limit)
    report(
        "report_throughput",
        trials=args.trials,
        reports_per_trial=args.reports,
        pairs=args.pairs,
        reports_per_s=round(ours_median),
        raw_oneway_per_s=round(raw_median),
        fraction_of_raw=round(ours_median / raw_median, 3),
        reports_per_s_runs=[round(x) for x in mine],
        raw_oneway_per_s_runs=[round(x) for x in limit],
    )


if __name__ == "__main__":
    main()
