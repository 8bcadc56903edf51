"""Finding experiments on disk and reading them back (read-only, through the store's reader):
what `asyncnni list`, `export`, `trials`, `experiment export` and `status` of a stopped
experiment show."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .store import exists, find_experiments, open_reader
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


def optimize_mode(record: dict[str, Any]) -> OptimizeMode:
    """The direction of a stored experiment: as its run resolved it, or, in a store written
    before the run kept it, as its tuner's class_args say (default maximize)."""
    mode = record.get("optimize_mode")
    if mode is None:
        config = record.get("config") or {}
        tuner = config.get("tuner") or config.get("advisor") or {}
        mode = (tuner.get("class_args") or {}).get("optimize_mode")
    try:
        return OptimizeMode.parse(mode or "maximize")
    except ValueError:
        return OptimizeMode.MAXIMIZE  # the run refused it: no result was ranked by it


def experiment_folder(working_directory: Path, experiment_id: str) -> Path:
    """The folder of a stored experiment; raises LookupError when there is none."""
    folder = working_directory / experiment_id
    if not exists(folder):
        raise LookupError(f"no experiment {experiment_id!r} in {working_directory}")
    return folder


def experiments(folder: Path) -> list[ExperimentEntry]:
    """Every experiment under ``folder``, oldest first (read-only: a running one is fine)."""
    entries = []
    for experiment_folder in find_experiments(folder):
        with open_reader(experiment_folder) as store:
            record = store.experiment()
            rows = store.trial_rows()
        values = [row["final_value"] for row in rows if row["final_value"] is not None]
        best = optimize_mode(record).best(values)
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
    """One dict per trial job and parameter set (fields EXPORT_FIELDS, and ``retry``: for a
    job whose parameter set ran again in another job, the TRIAL_RETRY event's detail, else
    None); raises LookupError."""
    try:
        store = open_reader(folder / experiment_id)
    except LookupError:
        raise LookupError(f"no experiment {experiment_id!r} in {folder}") from None
    with store:
        retries = {
            event["trial_job_id"]: event["detail"]
            for event in store.events()
            if event["kind"] == "TRIAL_RETRY"
        }
        return [
            {
                **{name: row[name] for name in EXPORT_FIELDS},
                "retry": retries.get(row["trial_job_id"]),
            }
            for row in store.trial_rows()
        ]


def trial_table(folder: Path, sort: str = "sequence") -> list[dict[str, Any]]:
    """One row per trial job and parameter set (trial_job_id, sequence, status, parameters,
    metric, message); ``sort`` is "sequence" (start order), "metric" (best first, in the
    experiment's direction; rows without one last) or "status"."""
    with open_reader(folder) as store:
        mode = optimize_mode(store.experiment())
        rows = [
            {
                "trial_job_id": row["trial_job_id"],
                "sequence": row["sequence"],
                "parameter_id": row["parameter_id"],
                "status": row["status"],
                "parameters": row["parameters"],
                "metric": row["final_value"],
                "message": row["message"],
            }
            for row in store.trial_rows()
        ]
    if sort == "metric":
        sign = -1.0 if mode is OptimizeMode.MAXIMIZE else 1.0
        rows.sort(key=lambda r: (r["metric"] is None, sign * (r["metric"] or 0.0)))
    elif sort == "status":
        rows.sort(key=lambda r: (r["status"], r["sequence"]))
    elif sort != "sequence":
        raise ValueError(f"--sort must be sequence, metric or status, not {sort!r}")
    return rows


def stored_status(folder: Path) -> dict[str, Any]:
    """The status of an experiment from its store, in the shape of the control channel's
    STATUS answer (for one that is not running, or whose process is gone)."""
    with open_reader(folder) as store:
        record = store.experiment()
        rows = store.trial_rows()
        counts = store.counts()
        running = [
            {
                "trial_job_id": row["trial_job_id"],
                "latest": (
                    (store.intermediate_results(row["parameter_id"]) or [None])[-1]
                    if row["parameter_id"] is not None
                    else None
                ),
            }
            for row in rows
            if row["status"] == "RUNNING"
        ]
    mode = optimize_mode(record)
    best = None
    for row in rows:
        value = row["final_value"]
        if value is not None and (best is None or mode.better(value, best["value"])):
            best = {
                "trial_job_id": row["trial_job_id"],
                "parameter_id": row["parameter_id"],
                "value": value,
                "parameters": row["parameters"],
            }
    config = record["config"]
    return {
        "id": record["id"],
        "pid": None,
        "status": record["status"],
        "message": record["message"],
        "progress": {
            "started": sum(counts.values()),
            "running": counts.get("RUNNING", 0),
            "succeeded": counts.get("SUCCEEDED", 0),
            "failed": counts.get("FAILED", 0),
            "early_stopped": counts.get("EARLY_STOPPED", 0),
            "canceled": counts.get("USER_CANCELED", 0),
            "waiting": 0,
        },
        "best": best,
        "running": running,
        "limits": {
            key: config.get(key)
            for key in ("trial_concurrency", "max_trial_number", "max_experiment_duration")
        },
    }


def nni_export(folder: Path, *, intermediate: bool = False) -> list[dict[str, Any]]:
    """NNI's export records: one per parameter set with a final result,
    ``{"parameter", "value", "trialJobId"}`` (and ``"intermediate"``, the PERIODICAL values,
    with ``intermediate``); ``value`` is the reported metric itself (NNI's manager sends it
    JSON-encoded), so the file is what ``experiment import`` reads."""
    with open_reader(folder) as store:
        records = []
        for row in store.trial_rows():
            if row["final_metric"] is None:
                continue
            record = {
                "parameter": row["parameters"],
                "value": row["final_metric"],
                "trialJobId": row["trial_job_id"],
            }
            if intermediate:
                record["intermediate"] = store.intermediate_results(row["parameter_id"])
            records.append(record)
    return records
