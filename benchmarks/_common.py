"""What benchmarks/e2e_trials.py and multi_phase_throughput.py share: running a real
experiment of the trials in benchmarks/trials/ in a temporary working directory."""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncnni.bench.report import emit, machine, today
from asyncnni.experiment import Experiment, ExperimentResult

TRIALS = Path(__file__).resolve().parent / "trials"
SEARCH_SPACE = {"x": {"_type": "uniform", "_value": [0, 1]}}


@dataclass(frozen=True)
class TimedRun:
    result: ExperimentResult
    wall_s: float


class BenchmarkFailed(RuntimeError):
    """The experiment did not run as the benchmark needs; its figures would mean nothing."""


def sizes(doc: str, **options: tuple[int, str]) -> argparse.Namespace:
    """The command line of a benchmark: integer options ``--name`` given as
    ``name=(default, help)``; the first paragraph of ``doc`` describes it."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    for name, (default, help_text) in options.items():
        parser.add_argument(f"--{name}", type=int, default=default, help=help_text)
    return parser.parse_args()


def report(benchmark: str, **figures: Any) -> None:
    """The benchmark's one JSON line, with the machine and the date."""
    emit({"benchmark": benchmark, **figures, "machine": machine(), "date": today()})


@contextmanager
def timed_experiment(trial_file: str, **config: Any) -> Iterator[TimedRun]:
    """Run an experiment of ``python <trial_file>`` (Random tuner) in a temporary working
    directory that is removed afterwards; yields the result and the wall time of ``run()``
    while the experiment's folder still exists."""
    with tempfile.TemporaryDirectory(prefix="asyncnni-bench-") as tmp:
        experiment = Experiment(
            {
                "search_space": SEARCH_SPACE,
                "trial_command": f"python {trial_file}",
                "trial_code_directory": str(TRIALS),
                "tuner": {"name": "Random", "class_args": {"seed": 0}},
                "training_service": {"platform": "local"},
                "experiment_working_directory": tmp,
                **config,
            }
        )
        start = time.perf_counter()
        result = experiment.run()
        wall_s = time.perf_counter() - start
        if result.status != "DONE" or result.progress.failed:
            raise BenchmarkFailed(
                f"experiment ended {result.status} with {result.progress.failed} failed trial(s): "
                f"{result.message}; see the trial logs (kept only while it runs)"
            )
        yield TimedRun(result, wall_s)
