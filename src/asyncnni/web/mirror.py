"""An in-memory mirror of one experiment's store, kept current by reading only what is new.

The dashboard must answer a sorted, filtered page of 100,000 trials in well under 200 ms and
must never slow the dispatcher, so it follows the store through its read-only interface
(:class:`~asyncnni.store.StoreReader`; for SQLite ``mode=ro``: no write lock, not a byte
changed) by each kind of record's append order: new trial jobs, parameter sets, results and
events after the last position, and again only the jobs it last saw running. The store's
``data_version`` says whether anyone committed since the last look, so an idle refresh is
one cheap query.
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..protocol import FINAL
from ..store import Event, Metric, StoredJob, open_reader
from ..store.records import WAIT_FOR_RESULT, waited_on


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


class Column:
    """A float per row, grown as rows come (amortised doubling) and set in place: what
    every page ranks by stays current without a pass over all rows per change."""

    def __init__(self) -> None:
        self._data = np.full(1024, math.nan)
        self._size = 0

    def append(self, value: float) -> None:
        if self._size == len(self._data):
            self._data = np.concatenate((self._data, np.full(len(self._data), math.nan)))
        self._data[self._size] = value
        self._size += 1

    def __setitem__(self, index: int, value: float) -> None:
        self._data[index] = value

    def array(self) -> np.ndarray:
        """The values so far (a view: valid until the next change)."""
        return self._data[: self._size]


@dataclass(slots=True, eq=False)  # a row is itself: compared and hashed by identity
class Row:
    """One trial job and one of its parameter sets (``parameter_id`` None: it has none yet)."""

    job: Job
    index: int = -1  # its place in StoreMirror.rows
    parameter_id: int | None = None
    parameter_index: int = 0
    parameters: dict = field(default_factory=dict)
    source: str | None = None
    time: float | None = None  # when the parameter set was handed out
    value: float | None = None  # the final metric's scalar
    raw: Any = None  # the final metric as reported
    final_time: float | None = None
    intermediate: list[Metric] = field(default_factory=list)  # in sequence order
    search_text: str = ""  # what a search matches besides the job id: the parameters' JSON


@dataclass(slots=True)
class Wait:
    """A job whose next parameter set waits on another one's result (WAIT_FOR_RESULT)."""

    parameter_id: int  # the parameter set being generated
    parent_id: int
    since: float


class StoreMirror:
    """What one experiment's store holds, as Python objects; :meth:`refresh` catches up.

    Thread-safe: one lock guards the refresh and every read of the mirror's collections,
    and ``version`` grows by one for each refresh that found something new.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._reader = open_reader(folder)  # LookupError when there is no store
        self.lock = threading.RLock()
        self.version = 0
        self.experiment: dict[str, Any] = {}
        self.jobs: dict[str, Job] = {}
        self.rows: list[Row] = []
        self.by_parameter: dict[int, Row] = {}
        self.events: list[Event] = []
        self.values = Column()  # each row's final metric (NaN: none yet)
        self.final_times = Column()  # when each row's final metric came
        self.status_counts: Counter[str] = Counter()  # trial jobs by status
        self.waits: dict[str, Wait] = {}  # trial job -> what it waits on now
        self.parents: dict[int, int] = {}  # parameter id -> the one whose result its tuner used
        self.wait_started: dict[int, float] = {}  # parameter id -> when its job began to wait
        self._data_version: int | None = None
        self._job_position = self._metric_position = self._event_position = 0
        self._parameter_id = -1
        self._running: set[str] = set()

    def close(self) -> None:
        with self.lock:
            self._reader.close()

    def refresh(self) -> bool:
        """Read what was committed since the last refresh; True when there was something."""
        with self.lock:
            data_version = self._reader.data_version()
            if data_version == self._data_version:
                return False
            self._data_version = data_version
            with self._reader.snapshot():  # the tables as they were at one moment
                changed = self._read_experiment()
                changed |= self._read_jobs()
                changed |= self._read_parameters()
                changed |= self._read_metrics()
                changed |= self._read_events()
            if changed:
                self.version += 1
            return changed

    def _read_experiment(self) -> bool:
        try:
            record = self._reader.experiment()
        except LookupError:  # the store exists, its experiment row is not committed yet
            return False
        if record == self.experiment:
            return False
        self.experiment = record
        return True

    def _read_jobs(self) -> bool:
        self._job_position, new = self._reader.jobs_after(self._job_position)
        changed = False
        for stored in new + self._reader.jobs(sorted(self._running)):
            changed |= self._update_job(stored)
        return changed

    def _update_job(self, stored: StoredJob) -> bool:
        job = self.jobs.get(stored.trial_job_id)
        changed = True
        if job is None:
            job = self.jobs[stored.trial_job_id] = Job(
                stored.trial_job_id,
                stored.sequence,
                stored.status,
                stored.trial_dir,
                stored.start_time,
                stored.end_time,
                stored.exit_code,
                stored.message,
            )
            self._add_row(Row(job))
            self.status_counts[job.status] += 1
        elif (job.status, job.end_time, job.message) != (
            stored.status,
            stored.end_time,
            stored.message,
        ):
            self.status_counts[job.status] -= 1
            self.status_counts[stored.status] += 1
            job.status, job.end_time = stored.status, stored.end_time
            job.exit_code, job.message = stored.exit_code, stored.message
        else:
            changed = False
        if stored.end_time is None:
            self._running.add(job.trial_job_id)
        else:
            self._running.discard(job.trial_job_id)
            self.waits.pop(job.trial_job_id, None)
        return changed

    def _add_row(self, row: Row) -> None:
        row.index = len(self.rows)
        row.job.rows.append(row)
        self.rows.append(row)
        self.values.append(math.nan)
        self.final_times.append(math.nan)

    def _read_parameters(self) -> bool:
        sets = self._reader.parameter_sets_after(self._parameter_id)
        for record in sets:
            self._parameter_id = record.parameter_id
            job = self.jobs.get(record.trial_job_id)
            if job is None:  # cannot happen: a job is stored before its parameter sets
                continue
            placeholder = job.rows[0] if job.rows and job.rows[0].parameter_id is None else None
            row = placeholder or Row(job)
            row.parameter_id, row.parameter_index = record.parameter_id, record.parameter_index
            row.parameters, row.source, row.time = record.parameters, record.source, record.time
            row.search_text = json.dumps(record.parameters).lower()
            if placeholder is None:
                self._add_row(row)
            self.by_parameter[record.parameter_id] = row
            wait = self.waits.get(job.trial_job_id)
            if wait is not None and wait.parameter_id == record.parameter_id:
                del self.waits[job.trial_job_id]
        return bool(sets)

    def _read_metrics(self) -> bool:
        self._metric_position, metrics = self._reader.metrics_after(self._metric_position)
        for metric in metrics:
            row = self.by_parameter.get(metric.parameter_id)
            if row is None:  # cannot happen: the dispatcher stores reports on known sets only
                continue
            if metric.type == FINAL:
                row.value, row.raw, row.final_time = metric.value, metric.raw, metric.time
                self.values[row.index] = metric.value
                self.final_times[row.index] = metric.time
            else:
                row.intermediate.append(metric)
        return bool(metrics)

    def _read_events(self) -> bool:
        self._event_position, events = self._reader.events_after(self._event_position)
        for event in events:
            if event.kind == WAIT_FOR_RESULT and event.trial_job_id is not None:
                self._waited(event)
            self.events.append(event)
        return bool(events)

    def _waited(self, event: Event) -> None:
        parameter_id, parent_id, waits = waited_on(event)
        self.parents[parameter_id] = parent_id
        if waits:
            self.wait_started.setdefault(parameter_id, event.time)
        job = self.jobs.get(event.trial_job_id or "")
        if job is None or job.end_time is not None or parameter_id in self.by_parameter:
            return  # that wait is over already (its end was read in this refresh)
        if waits:
            self.waits[job.trial_job_id] = Wait(parameter_id, parent_id, event.time)
        else:
            self.waits.pop(job.trial_job_id, None)
