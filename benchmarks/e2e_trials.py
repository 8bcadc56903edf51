"""Wall time of a whole experiment of trivial trials (one configuration, one final result),
through the real Experiment: local training service, dispatcher, store, trial processes.

    python benchmarks/e2e_trials.py --trials 20 --concurrency 4

Prints one JSON line; see benchmarks/README.md.
"""

from __future__ import annotations

from _common import report, sizes, timed_experiment


def main() -> None:
    args = sizes(__doc__, trials=(20, "max_trial_number"), concurrency=(4, "trial_concurrency"))
    with timed_experiment(
        "one_result.py", max_trial_number=args.trials, trial_concurrency=args.concurrency
    ) as run:
        succeeded = run.result.progress.succeeded
    report(
        "e2e_trials",
        trials=args.trials,
        concurrency=args.concurrency,
        succeeded=succeeded,
        wall_s=round(run.wall_s, 3),
        trials_per_s=round(args.trials / run.wall_s, 2),
    )


if __name__ == "__main__":
    main()
