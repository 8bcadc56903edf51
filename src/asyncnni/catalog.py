"""Finding experiments on disk and reading them back: what `asyncnni list` and `export` show."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .store import find_experiments, open_reader
from .tuner import OptimizeMode

EXPORT_FIELDS = (
    "trial_job_id",
    "parameter_id",
    "parameter_index",
    "parameters",
    "final_metric",
    "status",
    "message",
)


@dataclass(frozen=True)
class ExperimentEntry:
    id: str
    name: str | None
    status: str
    started: str
    trials: int
    best: str


def experiments(folder: Path) -> list[ExperimentEntry]:
    """Every experiment under ``folder``, oldest first (read-only: a running one is fine)."""
    entries = []
    for experiment_folder in find_experiments(folder):
        with open_reader(experiment_folder) as store:
            record = store.experiment()
            rows = store.trial_rows()
        values = [row["final_value"] for row in rows if row["final_value"] is not None]
        mode = record["config"].get("tuner", {}).get("class_args", {}).get("optimize_mode")
        best = OptimizeMode.parse(mode or "maximize").best(values)
        entries.append(
            ExperimentEntry(
                record["id"],
                record["name"],
                record["status"],
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record["start_time"])),
                len({row["trial_job_id"] for row in rows}),
                f"{best:.6g}" if best is not None else "",
            )
        )
    return sorted(entries, key=lambda e: e.started)


def export_rows(folder: Path, experiment_id: str) -> list[dict[str, Any]]:
    """One dict per trial job and parameter set (fields EXPORT_FIELDS); raises LookupError."""
    try:
        store = open_reader(folder / experiment_id)
    except LookupError:
        raise LookupError(f"no experiment {experiment_id!r} in {folder}") from None
    with store:
        return [{name: row[name] for name in EXPORT_FIELDS} for row in store.trial_rows()]
