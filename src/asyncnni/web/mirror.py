"""An in-memory mirror of one experiment's store, kept current by reading only what is new.

The dashboard must answer a sorted, filtered page of 100,000 trials in well under 200 ms and
must never slow the dispatcher, so it opens the SQLite file read-only (``mode=ro``: it takes
no write lock and cannot change a byte) and reads each table by its append order: parameter
sets by id, metrics and events by rowid, new trial jobs by rowid, and only the jobs it last
saw running again. ``PRAGMA data_version`` says whether anyone committed since the last
look, so an idle refresh is one cheap query.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..store import DB_NAME

_JOB_COLUMNS = (
    "rowid, trial_job_id, sequence, status, trial_dir, start_time, end_time, exit_code, message"
)


@dataclass(slots=True)
class Job:
    trial_job_id: str
    sequence: int
    status: str
    trial_dir: str | None
    start_time: float
    end_time: float | None
    exit_code: int | None
    message: str | None
    rows: list[Row] = field(default_factory=list)


@dataclass(slots=True)
class Row:
    """One trial job and one of its parameter sets (``parameter_id`` None: it has none yet)."""

    job: Job
    parameter_id: int | None = None
    parameter_index: int = 0
    parameters: dict = field(default_factory=dict)
    parameters_text: str = ""  # what search matches
    source: str | None = None
    time: float | None = None  # when the parameter set was handed out
    value: float | None = None  # the final metric's scalar
    raw: Any = None  # the final metric as reported
    final_time: float | None = None
    intermediate: list[tuple[int, float, float]] = field(default_factory=list)  # seq, value, time


@dataclass(slots=True)
class Event:
    time: float
    trial_job_id: str | None
    kind: str
    detail: str | None


class StoreMirror:
    """What one experiment's store holds, as Python objects; :meth:`refresh` catches up.

    Thread-safe: one lock guards the refresh and every read of the mirror's collections,
    and ``version`` grows by one for each refresh that found something new.
    """

    def __init__(self, folder: Path) -> None:
        path = folder / DB_NAME
        if not path.is_file():
            raise LookupError(f"no experiment store in {folder}")
        self.folder = folder
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self.lock = threading.RLock()
        self.version = 0
        self.experiment: dict[str, Any] = {}
        self.jobs: dict[str, Job] = {}
        self.rows: list[Row] = []
        self.by_parameter: dict[int, Row] = {}
        self.events: list[Event] = []
        self._data_version: int | None = None
        self._job_rowid = self._metric_rowid = self._event_id = 0
        self._parameter_id = -1
        self._running: set[str] = set()
        self._experiment_row: tuple | None = None

    def close(self) -> None:
        with self.lock:
            self._db.close()

    def refresh(self) -> bool:
        """Read what was committed since the last refresh; True when there was something."""
        with self.lock:
            (data_version,) = self._db.execute("PRAGMA data_version").fetchone()
            if data_version == self._data_version:
                return False
            self._data_version = data_version
            # one read transaction: the tables are seen at one moment
            self._db.execute("BEGIN")
            try:
                changed = self._read_experiment()
                changed |= self._read_jobs()
                changed |= self._read_parameters()
                changed |= self._read_metrics()
                changed |= self._read_events()
            finally:
                self._db.execute("COMMIT")
            if changed:
                self.version += 1
            return changed

    def _read_experiment(self) -> bool:
        row = self._db.execute(
            "SELECT id, name, status, config, search_space, start_time, end_time, message FROM experiment"
        ).fetchone()
        if row is None or row == self._experiment_row:
            return False
        self._experiment_row = row
        keys = (
            "id",
            "name",
            "status",
            "config",
            "search_space",
            "start_time",
            "end_time",
            "message",
        )
        record = dict(zip(keys, row, strict=True))
        record["config"] = json.loads(record["config"])
        record["search_space"] = json.loads(record["search_space"])
        self.experiment = record
        return True

    def _read_jobs(self) -> bool:
        rows = self._db.execute(
            f"SELECT {_JOB_COLUMNS} FROM trial_jobs WHERE rowid > ? ORDER BY rowid",
            (self._job_rowid,),
        ).fetchall()
        running = sorted(self._running)
        for start in range(0, len(running), 500):  # SQLite's parameter limit
            chunk = running[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows += self._db.execute(
                f"SELECT {_JOB_COLUMNS} FROM trial_jobs WHERE trial_job_id IN ({marks})", chunk
            ).fetchall()
        changed = False
        for rowid, job_id, sequence, status, trial_dir, start, end, exit_code, message in rows:
            self._job_rowid = max(self._job_rowid, rowid)
            job = self.jobs.get(job_id)
            if job is None:
                job = self.jobs[job_id] = Job(
                    job_id, sequence, status, trial_dir, start, end, exit_code, message
                )
                self._add_row(Row(job))
                changed = True
            elif (job.status, job.end_time, job.message) != (status, end, message):
                job.status, job.end_time, job.exit_code, job.message = (
                    status,
                    end,
                    exit_code,
                    message,
                )
                changed = True
            if end is None:
                self._running.add(job_id)
            else:
                self._running.discard(job_id)
        return changed

    def _add_row(self, row: Row) -> None:
        row.job.rows.append(row)
        self.rows.append(row)

    def _read_parameters(self) -> bool:
        rows = self._db.execute(
            "SELECT parameter_id, trial_job_id, parameter_index, parameters, source, time "
            "FROM parameters WHERE parameter_id > ? ORDER BY parameter_id",
            (self._parameter_id,),
        ).fetchall()
        for parameter_id, job_id, index, text, source, when in rows:
            self._parameter_id = parameter_id
            job = self.jobs.get(job_id)
            if job is None:  # cannot happen: a job is stored before its parameter sets
                continue
            placeholder = job.rows[0] if job.rows and job.rows[0].parameter_id is None else None
            row = placeholder or Row(job)
            row.parameter_id, row.parameter_index, row.source, row.time = (
                parameter_id,
                index,
                source,
                when,
            )
            row.parameters, row.parameters_text = json.loads(text), text
            if placeholder is None:
                self._add_row(row)
            self.by_parameter[parameter_id] = row
        return bool(rows)

    def _read_metrics(self) -> bool:
        rows = self._db.execute(
            "SELECT rowid, parameter_id, type, sequence, value, raw, time FROM metrics "
            "WHERE rowid > ? ORDER BY rowid",
            (self._metric_rowid,),
        ).fetchall()
        for rowid, parameter_id, type_, sequence, value, raw, when in rows:
            self._metric_rowid = rowid
            row = self.by_parameter.get(parameter_id)
            if row is None:  # cannot happen: the dispatcher stores reports on known sets only
                continue
            if type_ == "FINAL":
                row.value, row.raw, row.final_time = value, json.loads(raw), when
            else:
                row.intermediate.append((sequence, value, when))
        return bool(rows)

    def _read_events(self) -> bool:
        rows = self._db.execute(
            "SELECT id, time, trial_job_id, kind, detail FROM events WHERE id > ? ORDER BY id",
            (self._event_id,),
        ).fetchall()
        for event_id, when, job_id, kind, detail in rows:
            self._event_id = event_id
            self.events.append(Event(when, job_id, kind, detail))
        return bool(rows)
