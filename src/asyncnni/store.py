"""The embedded SQLite store: one ``experiment.db`` per experiment folder.

WAL mode, one connection owned by the event loop's thread. Writes between two
:meth:`Store.commit` calls form one transaction, so the dispatcher can group many reports
into one commit and acknowledge each only after that commit (group commit).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .protocol import plain

DB_NAME = "experiment.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS experiment (
    id TEXT PRIMARY KEY, name TEXT, status TEXT NOT NULL, config TEXT NOT NULL,
    search_space TEXT NOT NULL, start_time REAL NOT NULL, end_time REAL, message TEXT);
CREATE TABLE IF NOT EXISTS trial_jobs (
    trial_job_id TEXT PRIMARY KEY, sequence INTEGER NOT NULL, status TEXT NOT NULL,
    trial_dir TEXT, start_time REAL NOT NULL, end_time REAL, exit_code INTEGER, message TEXT);
CREATE TABLE IF NOT EXISTS parameters (
    parameter_id INTEGER PRIMARY KEY, trial_job_id TEXT NOT NULL, parameter_index INTEGER NOT NULL,
    parameters TEXT NOT NULL, source TEXT NOT NULL, time REAL NOT NULL);
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

FINAL = "FINAL"


def parameter_row(
    parameter_id: int, trial_job_id: str, index: int, parameters: dict, source: str
) -> tuple:
    """One row of the parameters table."""
    return (
        parameter_id,
        trial_job_id,
        index,
        json.dumps(parameters, default=plain),
        source,
        time.time(),
    )


def metric_row(
    trial_job_id: str, parameter_id: int, type_: str, sequence: int, value: float, raw: Any
) -> tuple:
    """One row of the metrics table. ``raw`` is the metric as reported (kept as JSON)."""
    text = (
        repr(raw) if type(raw) is float else json.dumps(raw)
    )  # repr of a finite float is its JSON
    return (trial_job_id, parameter_id, type_, sequence, value, text, time.time())


class Store:
    """Durable record of one experiment. Not thread-safe: use it from one thread."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / DB_NAME
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives a crash of the process (not of the OS)
        # without an fsync per commit; that is what makes group commit cheap.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._in_transaction = False

    def _begin(self) -> None:
        if not self._in_transaction:
            self._db.execute("BEGIN")
            self._in_transaction = True

    def _write(self, sql: str, args: Iterable[Any] = ()) -> sqlite3.Cursor:
        self._begin()
        return self._db.execute(sql, args)

    def commit(self) -> None:
        if self._in_transaction:
            self._db.execute("COMMIT")
            self._in_transaction = False

    def close(self) -> None:
        self.commit()
        self._db.close()

    # --- writes -----------------------------------------------------------------------

    def create_experiment(
        self, experiment_id: str, name: str | None, config: dict, search_space: dict
    ) -> None:
        self._write(
            "INSERT INTO experiment (id, name, status, config, search_space, start_time) VALUES (?, ?, ?, ?, ?, ?)",
            (
                experiment_id,
                name,
                "RUNNING",
                json.dumps(config),
                json.dumps(search_space),
                time.time(),
            ),
        )
        self.commit()

    def set_experiment_status(
        self, status: str, message: str | None = None, *, ended: bool = False
    ) -> None:
        self._write(
            "UPDATE experiment SET status = ?, message = ?, end_time = ?",
            (status, message, time.time() if ended else None),
        )
        self.commit()

    def add_trial_job(self, trial_job_id: str, sequence: int, trial_dir: str) -> None:
        self._write(
            "INSERT INTO trial_jobs (trial_job_id, sequence, status, trial_dir, start_time) VALUES (?, ?, ?, ?, ?)",
            (trial_job_id, sequence, "RUNNING", trial_dir, time.time()),
        )

    def end_trial_job(
        self, trial_job_id: str, status: str, exit_code: int | None, message: str | None
    ) -> None:
        self._write(
            "UPDATE trial_jobs SET status = ?, exit_code = ?, message = ?, end_time = ? WHERE trial_job_id = ?",
            (status, exit_code, message, time.time(), trial_job_id),
        )

    def add_parameters(self, rows: list[tuple]) -> None:
        """Store parameter sets made by :func:`parameter_row`."""
        self._begin()
        self._db.executemany("INSERT INTO parameters VALUES (?, ?, ?, ?, ?, ?)", rows)

    def add_metrics(self, rows: list[tuple]) -> None:
        """Store reports made by :func:`metric_row`; a row already stored is ignored."""
        self._begin()
        self._db.executemany("INSERT OR IGNORE INTO metrics VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def add_event(
        self, kind: str, trial_job_id: str | None = None, detail: str | None = None
    ) -> None:
        self._write(
            "INSERT INTO events (time, trial_job_id, kind, detail) VALUES (?, ?, ?, ?)",
            (time.time(), trial_job_id, kind, detail),
        )

    # --- reads ------------------------------------------------------------------------

    def experiment(self) -> dict[str, Any]:
        row = self._db.execute(
            "SELECT id, name, status, config, search_space, start_time, end_time, message FROM experiment"
        ).fetchone()
        if row is None:
            raise LookupError(f"{self.path} holds no experiment")
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
        return record

    def trial_rows(self) -> list[dict[str, Any]]:
        """One row per trial job and parameter set, in start order; a job that never got
        parameters has one row with parameter_id None and empty parameters."""
        rows = self._db.execute(
            """SELECT j.trial_job_id, p.parameter_id, p.parameter_index, p.parameters, m.value, m.raw,
                      j.status, j.sequence, j.exit_code, j.message
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
            "SELECT value FROM metrics WHERE parameter_id = ? AND type = 'PERIODICAL' ORDER BY sequence",
            (parameter_id,),
        ).fetchall()
        return [value for (value,) in rows]

    def final_results(self) -> list[dict[str, Any]]:
        """``[{"parameter": {...}, "value": raw metric, "parameter_id": id}]`` for import_data / resume."""
        rows = self._db.execute(
            """SELECT p.parameter_id, p.parameters, m.raw FROM parameters p
               JOIN metrics m ON m.parameter_id = p.parameter_id AND m.type = 'FINAL'
               ORDER BY p.parameter_id"""
        ).fetchall()
        return [
            {"parameter_id": pid, "parameter": json.loads(p), "value": json.loads(raw)}
            for pid, p, raw in rows
        ]

    def reopen(self) -> None:
        """Mark the experiment RUNNING again (resume); trial jobs left RUNNING by a run that
        died are recorded as FAILED, since nothing watches them any more."""
        self._write("UPDATE experiment SET status = 'RUNNING', end_time = NULL, message = NULL")
        self._write(
            "UPDATE trial_jobs SET status = 'FAILED', end_time = ?, "
            "message = 'the experiment was interrupted while it ran' WHERE status = 'RUNNING'",
            (time.time(),),
        )
        self.commit()

    def trial_job_ids(self) -> set[str]:
        return {job for (job,) in self._db.execute("SELECT trial_job_id FROM trial_jobs")}

    def next_parameter_id(self) -> int:
        (largest,) = self._db.execute("SELECT MAX(parameter_id) FROM parameters").fetchone()
        return 0 if largest is None else largest + 1

    def counted_configurations(self) -> int:
        """Parameter sets handed out, plus trial jobs that ended before asking for one: what
        max_trial_number counts in multi-phase mode."""
        (count,) = self._db.execute(
            """SELECT (SELECT COUNT(*) FROM parameters) + (SELECT COUNT(*) FROM trial_jobs j
               WHERE NOT EXISTS (SELECT 1 FROM parameters p WHERE p.trial_job_id = j.trial_job_id))"""
        ).fetchone()
        return count

    def counts(self) -> dict[str, int]:
        rows = self._db.execute(
            "SELECT status, COUNT(*) FROM trial_jobs GROUP BY status"
        ).fetchall()
        return dict(rows)


def open_readonly(folder: Path) -> Store:
    """An existing experiment's store, for list/export; raises LookupError when there is none."""
    if not (folder / DB_NAME).is_file():
        raise LookupError(f"no experiment store in {folder}")
    return Store(folder)
