"""Running small real experiments from tests, and reading back the traces they leave:
the store (as `asyncnni export` reads it), the experiment log and files trials wrote."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncnni import Experiment
from asyncnni.catalog import export_rows
from asyncnni.config import ExperimentConfig, load_config
from asyncnni.experiment import ExperimentResult

from .helpers import ASSETS

REPO = ASSETS.parent.parent


def user_tuner(class_file_name: str, class_name: str, **class_args: Any) -> dict:
    """A tuner config loaded the user's way, from tests/assets."""
    return {
        "code_directory": str(ASSETS),
        "class_file_name": class_file_name,
        "class_name": class_name,
        "class_args": class_args,
    }


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass
class Finished:
    """An ended experiment and its store rows (one per trial job and parameter set)."""

    result: ExperimentResult
    rows: list[dict[str, Any]]

    @property
    def configured(self) -> list[dict[str, Any]]:
        """Rows of parameter sets (a job that got none has one row without an id)."""
        return [row for row in self.rows if row["parameter_id"] is not None]

    @property
    def log_text(self) -> str:
        return (self.result.folder / "experiment.log").read_text()

    def trial_records(self, name: str) -> list[dict[str, Any]]:
        """Every JSON line the trials wrote to ``<trial dir>/<name>``."""
        return [
            record
            for path in sorted((self.result.folder / "trials").glob(f"*/{name}"))
            for record in read_jsonl(path)
        ]


def finished(experiment: Experiment, result: ExperimentResult) -> Finished:
    return Finished(result, export_rows(experiment.folder.parent, experiment.id))


def run(config: dict) -> Finished:
    """Run an experiment to its end in a fresh event loop."""
    experiment = Experiment(config)
    return finished(experiment, experiment.run())


def example(name: str, tmp_path: Path, **changes: Any) -> ExperimentConfig:
    """trials/<name>/exp.yaml, its experiments written under ``tmp_path``, with ``changes``."""
    config = load_config(REPO / "trials" / name / "exp.yaml")
    return dataclasses.replace(config, experiment_working_directory=tmp_path, **changes)
