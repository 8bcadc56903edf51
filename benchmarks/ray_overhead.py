"""What running trials on Ray costs: the same trivial trials (get one configuration, report
one result) at the same concurrency, run by asyncnni on a local Ray, by asyncnni's local
training service, and by Ray Tune itself (a function trainable, its random search), in one
run on one local Ray.

    python benchmarks/ray_overhead.py --trials 100 --concurrency 4

Ray binds its services on the machine's routable address, so on a machine with a network
this refuses to run outside a loopback-only namespace (``--any-network`` to run anyway);
make one with ``unshare --net --pid --fork --mount-proc --map-root-user python
tests/netns.py .venv/bin/python benchmarks/ray_overhead.py``. Needs the bench and ray
extras. Prints one JSON line; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

from _common import SEARCH_SPACE, TRIALS, BenchmarkFailed, report, timed_experiment

OBJECT_STORE_BYTES = 128 * 1024 * 1024


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--any-network", action="store_true", help="run outside a namespace")
    return parser.parse_args()


def _asyncnni_on_ray(trials: int, concurrency: int) -> float:
    with timed_experiment(
        "one_result.py",
        max_trial_number=trials,
        trial_concurrency=concurrency,
        training_service={"platform": "ray", "resources_per_trial": {"cpu": 1}},
        dispatcher={"bind": "tcp://127.0.0.1:0"},
    ) as run:
        return run.wall_s


def _ray_tune(trials: int, concurrency: int, storage: str) -> float:
    from ray import tune

    def trainable(config: dict) -> None:
        tune.report({"score": config["x"]})

    class Reported(tune.Callback):
        """Counts the results trials reported: with the file loggers off (as asyncnni writes
        no per-trial result files either) Tune's ResultGrid has no metrics to show."""

        def __init__(self) -> None:
            self.results = 0

        def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
            self.results += "score" in result

    reported = Reported()
    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": 1}),
        param_space={"x": tune.uniform(*SEARCH_SPACE["x"]["_value"])},
        tune_config=tune.TuneConfig(
            num_samples=trials,
            # the concurrency limit goes to the generator: Tune ignores max_concurrent_trials
            # for a search generator (it says so)
            search_alg=tune.search.BasicVariantGenerator(
                random_state=0, max_concurrent=concurrency
            ),
            metric="score",
            mode="max",
        ),
        run_config=tune.RunConfig(storage_path=storage, verbose=0, callbacks=[reported]),
    )
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # Tune prints its banner: stdout is the JSON line
        results = tuner.fit()
    wall_s = time.perf_counter() - start
    if results.num_errors or len(results) != trials or reported.results != trials:
        raise BenchmarkFailed(
            f"Ray Tune ran {len(results)} trials ({reported.results} reported), "
            f"{results.num_errors} failed"
        )
    return wall_s


def main() -> None:
    args = _arguments()
    names = [name for _, name in socket.if_nameindex()]
    if names != ["lo"] and not args.any_network:
        sys.exit(
            f"ray_overhead: interfaces {names}: run it in a loopback-only namespace (see --help)"
        )
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # Tune's CSV/JSON/TensorBoard loggers off: the trials' results are counted by a callback
    # instead, and the ResultGrid's warnings that it found no result files are expected
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
    import ray

    with tempfile.TemporaryDirectory(prefix="asyncnni-ray-bench-") as tmp:
        start = time.perf_counter()
        ray.init(
            num_cpus=args.concurrency,
            object_store_memory=OBJECT_STORE_BYTES,
            include_dashboard=False,
            logging_level=logging.WARNING,
            runtime_env={"env_vars": {"PYTHONPATH": str(TRIALS.parent)}},
        )
        init_s = time.perf_counter() - start
        try:
            on_ray_s = _asyncnni_on_ray(args.trials, args.concurrency)
            tune_s = _ray_tune(args.trials, args.concurrency, str(Path(tmp) / "tune"))
        finally:
            ray.shutdown()
    with timed_experiment(
        "one_result.py", max_trial_number=args.trials, trial_concurrency=args.concurrency
    ) as run:
        local_s = run.wall_s
    report(
        "ray_overhead",
        trials=args.trials,
        concurrency=args.concurrency,
        ray_init_s=round(init_s, 2),
        asyncnni_ray_s=round(on_ray_s, 2),
        asyncnni_local_s=round(local_s, 2),
        ray_tune_s=round(tune_s, 2),
        speedup_vs_ray_tune=round(tune_s / on_ray_s, 1),
        ray_version=ray.__version__,
    )


if __name__ == "__main__":
    main()
