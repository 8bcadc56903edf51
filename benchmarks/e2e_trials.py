"""Wall time of a whole experiment of trivial trials (one configuration, one final result),
through the real Experiment: local training service, dispatcher, store, trial processes.

    python benchmarks/e2e_trials.py --trials 20 --concurrency 4 [--fork 1]

With ``--fork 1`` the trials are forked from a warm template (training_service.trial_launcher).

Prints one JSON line; see benchmarks/README.md.
"""

from __future__ import annotations

from _common import report, sizes, timed_experiment


def main() -> None:
    args = sizes(
        __doc__,
        trials=(20, "max_trial_number"),
        concurrency=(4, "trial_concurrency"),
        fork=(0, "1: fork the trials from a warm template"),
    )
    launcher = {"mode": "fork" if args.fork else "plain", "preload": []}
    with timed_experiment(
        "one_result.py",
        max_trial_number=args.trials,
        trial_concurrency=args.concurrency,
        training_service={"platform": "local", "trial_launcher": launcher},
    ) as run:
        succeeded = run.result.progress.succeeded
    report(
        "e2e_trials",
        trials=args.trials,
        concurrency=args.concurrency,
        launcher=launcher["mode"],
        succeeded=succeeded,
        wall_s=round(run.wall_s, 3),
        trials_per_s=round(args.trials / run.wall_s, 2),
    )


if __name__ == "__main__":
    main()
