"""Wall time of a whole experiment of trivial trials (one configuration, one final result),
through the real Experiment: local training service, dispatcher, store, trial processes.

    python benchmarks/e2e_trials.py --trials 20 --concurrency 4

Prints one JSON line; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse

from _common import timed_experiment

from asyncnni.bench.report import emit, machine, today


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20, help="max_trial_number")
    parser.add_argument("--concurrency", type=int, default=4, help="trial_concurrency")
    args = parser.parse_args()
    with timed_experiment(
        "one_result.py", max_trial_number=args.trials, trial_concurrency=args.concurrency
    ) as run:
        succeeded = run.result.progress.succeeded
    emit(
        {
            "benchmark": "e2e_trials",
            "trials": args.trials,
            "concurrency": args.concurrency,
            "succeeded": succeeded,
            "wall_s": round(run.wall_s, 3),
            "trials_per_s": round(args.trials / run.wall_s, 2),
            "machine": machine(),
            "date": today(),
        }
    )


if __name__ == "__main__":
    main()
