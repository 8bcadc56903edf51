"""The embedded SQLite store: one ``experiment.db`` per experiment folder.

WAL mode, so readers in other processes see every commit while the run writes. The writer's
connection is owned by one thread (the event loop's); writes between two commits are one
transaction, which is what makes the dispatcher's group commit cheap. Readers open the file
with ``mode=ro`` and never write to it.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..protocol import FINAL
from .base import Store, StoreReader
from .records import Event, ExperimentRecord, JobEnd, JobStart, Metric, ParameterSet, StoredJob

DB_NAME = "experiment.db"
# PRAGMA user_version; 0 is a store made before versions were kept (= 1).
# 2: experiment.optimize_mode (a store of version 1 gains the column when opened for writing)
SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS experiment (
    id TEXT PRIMARY KEY, name TEXT, status TEXT NOT NULL, config TEXT NOT NULL,
    search_space TEXT NOT NULL, start_time REAL NOT NULL, end_time REAL, message TEXT,
    optimize_mode TEXT);
CREATE TABLE IF NOT EXISTS trial_jobs (
    trial_job_id TEXT PRIMARY KEY, sequence INTEGER NOT NULL, status TEXT NOT NULL,
    trial_dir TEXT, start_time REAL NOT NULL, end_time REAL, exit_code INTEGER, message TEXT);
CREATE TABLE IF NOT EXISTS parameters (
    parameter_id INTEGER PRIMARY KEY, trial_job_id TEXT NOT NULL, parameter_index INTEGER NOT NULL,
    parameters TEXT NOT NULL, source TEXT NOT NULL, time REAL NOT NULL);
-- a job's parameter sets: the join of trial_rows, resume's counts and a repeated old index
-- (without it those scan the table once per job: minutes at 100,000 rows)
CREATE INDEX IF NOT EXISTS parameters_of_job ON parameters (trial_job_id, parameter_index);
CREATE TABLE IF NOT EXISTS metrics (
    trial_job_id TEXT NOT NULL, parameter_id INTEGER NOT NULL, type TEXT NOT NULL,
    sequence INTEGER NOT NULL, value REAL NOT NULL, raw TEXT NOT NULL, time REAL NOT NULL);
-- One final result per parameter set, enforced here too; intermediate results carry no index
-- (the dispatcher stores each (job, parameter, sequence) once; an index on them cost about a
-- third of the dispatcher's time per report).
CREATE UNIQUE INDEX IF NOT EXISTS final_result ON metrics (parameter_id) WHERE type = 'FINAL';
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, time REAL NOT NULL, trial_job_id TEXT, kind TEXT NOT NULL, detail TEXT);
"""


class SchemaError(LookupError):
    """A store written by a newer asyncnni (or not a store at all)."""


def _raw_json(raw: Any) -> str:
    return repr(raw) if type(raw) is float else json.dumps(raw)  # repr of a finite float is JSON


class _SQLiteReads(StoreReader):
    """The queries; shared by the writer (its own connection sees its own writes) and the
    read-only reader."""

    path: Path
    _db: sqlite3.Connection

    def _check_version(self) -> None:
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            self._db.close()
            raise SchemaError(
                f"{self.path} has store schema version {version}, newer than this asyncnni "
                f"reads ({SCHEMA_VERSION}): upgrade asyncnni to open it"
            )

    def experiment(self) -> dict[str, Any]:
        # every column: a store of schema version 1, read here, has no optimize_mode
        cursor = self._db.execute("SELECT * FROM experiment")
        row = cursor.fetchone()
        if row is None:
            raise LookupError(f"{self.path} holds no experiment")
        record = {column[0]: value for column, value in zip(cursor.description, row, strict=True)}
        record.setdefault("optimize_mode", None)
        record["config"] = json.loads(record["config"])
        record["search_space"] = json.loads(record["search_space"])
        return record

    def trial_rows(self) -> list[dict[str, Any]]:
        rows = self._db.execute(
            """SELECT j.trial_job_id, p.parameter_id, p.parameter_index, p.parameters, m.value,
                      m.raw, j.status, j.sequence, j.exit_code, j.message
               FROM trial_jobs j
               LEFT JOIN parameters p ON p.trial_job_id = j.trial_job_id
               LEFT JOIN metrics m ON m.parameter_id = p.parameter_id AND m.type = 'FINAL'
               ORDER BY j.sequence, p.parameter_index"""
        ).fetchall()
        return [
            {
                "trial_job_id": job,
                "parameter_id": pid,
                "parameter_index": index,
                "parameters": json.loads(params) if params is not None else {},
                "final_metric": json.loads(raw) if raw is not None else None,
                "final_value": value,
                "status": status,
                "sequence": sequence,
                "exit_code": exit_code,
                "message": message,
            }
            for job, pid, index, params, value, raw, status, sequence, exit_code, message in rows
        ]

    def intermediate_results(self, parameter_id: int) -> list[float]:
        rows = self._db.execute(
            "SELECT value FROM metrics WHERE parameter_id = ? AND type = 'PERIODICAL' "
            "ORDER BY sequence",
            (parameter_id,),
        ).fetchall()
        return [value for (value,) in rows]

    def final_results(self) -> list[dict[str, Any]]:
        rows = self._db.execute(
            """SELECT p.parameter_id, p.parameters, m.raw FROM parameters p
               JOIN metrics m ON m.parameter_id = p.parameter_id AND m.type = 'FINAL'
               ORDER BY p.parameter_id"""
        ).fetchall()
        return [
            {"parameter_id": pid, "parameter": json.loads(p), "value": json.loads(raw)}
            for pid, p, raw in rows
        ]

    def final_metric(self, parameter_id: int) -> Metric | None:
        row = self._db.execute(
            "SELECT trial_job_id, sequence, value, raw, time FROM metrics "
            "WHERE parameter_id = ? AND type = 'FINAL'",
            (parameter_id,),
        ).fetchone()
        if row is None:
            return None
        job, sequence, value, raw, when = row
        return Metric(job, parameter_id, FINAL, sequence, value, json.loads(raw), when)

    def parameter_set(self, trial_job_id: str, parameter_index: int) -> ParameterSet | None:
        row = self._db.execute(
            "SELECT parameter_id, parameters, source, time FROM parameters "
            "WHERE trial_job_id = ? AND parameter_index = ?",
            (trial_job_id, parameter_index),
        ).fetchone()
        if row is None:
            return None
        pid, params, source, when = row
        return ParameterSet(pid, trial_job_id, parameter_index, json.loads(params), source, when)

    def events(self) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT time, trial_job_id, kind, detail FROM events ORDER BY id"
        ).fetchall()
        return [
            {"time": when, "trial_job_id": job, "kind": kind, "detail": detail}
            for when, job, kind, detail in rows
        ]

    def trial_job_ids(self) -> set[str]:
        return {job for (job,) in self._db.execute("SELECT trial_job_id FROM trial_jobs")}

    def next_parameter_id(self) -> int:
        (largest,) = self._db.execute("SELECT MAX(parameter_id) FROM parameters").fetchone()
        return 0 if largest is None else largest + 1

    def counted_configurations(self) -> int:
        (count,) = self._db.execute(
            """SELECT (SELECT COUNT(*) FROM parameters) + (SELECT COUNT(*) FROM trial_jobs j
               WHERE NOT EXISTS (SELECT 1 FROM parameters p WHERE p.trial_job_id = j.trial_job_id)
               AND NOT EXISTS (SELECT 1 FROM events e
                               WHERE e.kind = 'TRIAL_RETRY' AND e.trial_job_id = j.trial_job_id))"""
        ).fetchone()
        return count

    def interrupted(self) -> list[tuple[str, ParameterSet | None]]:
        rows = self._db.execute(
            """SELECT j.trial_job_id, p.parameter_id, p.parameter_index, p.parameters, p.source,
                      p.time, EXISTS (SELECT 1 FROM metrics m
                                      WHERE m.parameter_id = p.parameter_id AND m.type = 'FINAL')
               FROM trial_jobs j LEFT JOIN parameters p ON p.trial_job_id = j.trial_job_id
                    AND p.parameter_index = (SELECT MAX(parameter_index) FROM parameters q
                                             WHERE q.trial_job_id = j.trial_job_id)
               WHERE j.status = 'RUNNING' ORDER BY j.sequence"""
        ).fetchall()
        return [
            (job, None if pid is None else ParameterSet(pid, job, index, json.loads(p), src, when))
            for job, pid, index, p, src, when, finished in rows
            if not finished
        ]

    def counts(self) -> dict[str, int]:
        rows = self._db.execute(
            "SELECT status, COUNT(*) FROM trial_jobs GROUP BY status"
        ).fetchall()
        return dict(rows)

    # --- following the store: by rowid (append order; rows are never deleted) --------------

    def data_version(self) -> int:
        (version,) = self._db.execute("PRAGMA data_version").fetchone()
        return version

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        if self._db.in_transaction:  # the writer, inside its own transaction
            yield
            return
        self._db.execute("BEGIN")
        try:
            yield
        finally:
            self._db.execute("COMMIT")

    def jobs_after(self, position: int) -> tuple[int, list[StoredJob]]:
        rows = self._db.execute(
            f"SELECT rowid, {_JOB_COLUMNS} FROM trial_jobs WHERE rowid > ? ORDER BY rowid",
            (position,),
        ).fetchall()
        return (rows[-1][0] if rows else position), [StoredJob(*row[1:]) for row in rows]

    def jobs(self, trial_job_ids: Iterable[str]) -> list[StoredJob]:
        ids = list(trial_job_ids)
        jobs = []
        for start in range(0, len(ids), 500):  # below SQLite's limit of bound parameters
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            jobs += [
                StoredJob(*row)
                for row in self._db.execute(
                    f"SELECT {_JOB_COLUMNS} FROM trial_jobs WHERE trial_job_id IN ({marks})", chunk
                )
            ]
        return jobs

    def parameter_sets_after(self, parameter_id: int) -> list[ParameterSet]:
        rows = self._db.execute(
            "SELECT parameter_id, trial_job_id, parameter_index, parameters, source, time "
            "FROM parameters WHERE parameter_id > ? ORDER BY parameter_id",
            (parameter_id,),
        ).fetchall()
        return [
            ParameterSet(pid, job, index, json.loads(params), source, when)
            for pid, job, index, params, source, when in rows
        ]

    def metrics_after(self, position: int) -> tuple[int, list[Metric]]:
        rows = self._db.execute(
            "SELECT rowid, trial_job_id, parameter_id, type, sequence, value, raw, time "
            "FROM metrics WHERE rowid > ? ORDER BY rowid",
            (position,),
        ).fetchall()
        return (rows[-1][0] if rows else position), [
            Metric(job, pid, type_, sequence, value, _decode_raw(raw, value), when)
            for _, job, pid, type_, sequence, value, raw, when in rows
        ]

    def events_after(self, position: int) -> tuple[int, list[Event]]:
        rows = self._db.execute(
            "SELECT id, kind, trial_job_id, detail, time FROM events WHERE id > ? ORDER BY id",
            (position,),
        ).fetchall()
        return (rows[-1][0] if rows else position), [Event(*row[1:]) for row in rows]

    def close(self) -> None:
        self._db.close()


_JOB_COLUMNS = "trial_job_id, sequence, status, trial_dir, start_time, end_time, exit_code, message"


def _decode_raw(raw: str, value: float) -> Any:
    """The metric as reported. Most are one float, stored as its repr: that is ``value``
    itself, with no JSON parse (a follower of 100,000 results reads 400,000 of them)."""
    if raw[0] in '{["' or raw != repr(value):
        return json.loads(raw)
    return value


class SQLiteReader(_SQLiteReads):
    """A read-only view of an experiment's store (``mode=ro``): safe beside a running writer."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / DB_NAME
        if not self.path.is_file():
            raise LookupError(f"no experiment store in {folder}")
        # one thread at a time, not always the same one (a server's worker threads)
        self._db = sqlite3.connect(
            f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
        )
        self._check_version()


class SQLiteStore(_SQLiteReads, Store):
    """The writer: creates the file and its tables when they are missing."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / DB_NAME
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._check_version()
        # On a new file the switch to WAL goes through a rollback journal, synced four
        # times (15 ms of each run's start here); nothing is stored yet, so not synced.
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives a crash of the process (not of the OS)
        # without an fsync per commit; that is what makes group commit cheap.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(experiment)")}
        if "optimize_mode" not in columns:  # a store of version 1
            self._db.execute("ALTER TABLE experiment ADD COLUMN optimize_mode TEXT")
        self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._in_transaction = False

    def _begin(self) -> None:
        if not self._in_transaction:
            self._db.execute("BEGIN")
            self._in_transaction = True

    def _write(self, sql: str, args: Iterable[Any] = ()) -> None:
        self._begin()
        self._db.execute(sql, args)

    def commit(self) -> None:
        if self._in_transaction:
            self._db.execute("COMMIT")
            self._in_transaction = False

    def close(self) -> None:
        self.commit()
        self._db.close()

    def create_experiment(self, record: ExperimentRecord) -> None:
        self._write(
            "INSERT INTO experiment "
            "(id, name, status, config, search_space, optimize_mode, start_time) "
            "VALUES (?, ?, 'RUNNING', ?, ?, ?, ?)",
            (
                record.experiment_id,
                record.name,
                json.dumps(record.config),
                json.dumps(record.search_space),
                record.optimize_mode,
                record.time or time.time(),
            ),
        )

    def set_experiment_status(
        self, status: str, message: str | None = None, *, ended: bool = False
    ) -> None:
        self._write(
            "UPDATE experiment SET status = ?, message = ?, end_time = ?",
            (status, message, time.time() if ended else None),
        )

    def add_job_start(self, record: JobStart) -> None:
        self._write(
            "INSERT INTO trial_jobs (trial_job_id, sequence, status, trial_dir, start_time) "
            "VALUES (?, ?, 'RUNNING', ?, ?)",
            (record.trial_job_id, record.sequence, record.trial_dir, record.time or time.time()),
        )

    def add_job_end(self, record: JobEnd) -> None:
        self._write(
            "UPDATE trial_jobs SET status = ?, exit_code = ?, message = ?, end_time = ? "
            "WHERE trial_job_id = ?",
            (
                record.status,
                record.exit_code,
                record.message,
                record.time or time.time(),
                record.trial_job_id,
            ),
        )

    def add_parameter_sets(self, records: Iterable[ParameterSet]) -> None:
        now = time.time()
        self._begin()
        self._db.executemany(
            # a set recorded again (a retry) moves to its new job
            "INSERT INTO parameters VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (parameter_id) "
            "DO UPDATE SET trial_job_id = excluded.trial_job_id, "
            "parameter_index = excluded.parameter_index",
            (
                (
                    r.parameter_id,
                    r.trial_job_id,
                    r.parameter_index,
                    json.dumps(r.parameters),
                    r.source,
                    r.time or now,
                )
                for r in records
            ),
        )

    def add_metrics(self, records: Iterable[Metric]) -> None:
        now = time.time()
        self._begin()
        self._db.executemany(
            "INSERT OR IGNORE INTO metrics VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    r.trial_job_id,
                    r.parameter_id,
                    r.type,
                    r.sequence,
                    r.value,
                    _raw_json(r.raw),
                    r.time or now,
                )
                for r in records
            ),
        )

    def add_event(self, record: Event) -> None:
        self._write(
            "INSERT INTO events (time, trial_job_id, kind, detail) VALUES (?, ?, ?, ?)",
            (record.time or time.time(), record.trial_job_id, record.kind, record.detail),
        )

    def reopen(self) -> None:
        self._write("UPDATE experiment SET status = 'RUNNING', end_time = NULL, message = NULL")
        self._write(
            "UPDATE trial_jobs SET status = 'FAILED', end_time = ?, "
            "message = 'the experiment was interrupted while it ran' WHERE status = 'RUNNING'",
            (time.time(),),
        )


def find_experiments(working_directory: Path) -> list[Path]:
    """The folders under ``working_directory`` that hold an experiment store, by name."""
    if not working_directory.is_dir():
        return []
    return sorted(db.parent for db in working_directory.glob(f"*/{DB_NAME}"))
