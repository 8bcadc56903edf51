"""The Store interface: what the dispatcher, the experiment and every reader may rely on.

A store keeps one experiment. Writers hand it typed records (:mod:`.records`); a record is
durable once :meth:`Store.commit` has returned, never before: everything added between two
commits is one transaction, so a crash keeps all of it or none. The dispatcher decides when
to commit (once per burst of messages) and sends every answer that promises durability (ACK)
only after that commit; nothing else in a store commits on its own during a run.

A store is used from one thread. A :class:`StoreReader` may be opened by any number of other
processes or threads while one writer runs (``list``, ``export``, the dashboard); it sees what
was committed, and never writes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any

from .records import (
    Event,
    ExperimentRecord,
    JobEnd,
    JobStart,
    Metric,
    ParameterSet,
    StoredJob,
)


class StoreReader(ABC):
    """Read access to one experiment's records."""

    @abstractmethod
    def experiment(self) -> dict[str, Any]:
        """id, name, status, config, search_space, start_time, end_time, message.
        Raises LookupError when the store holds no experiment."""

    @abstractmethod
    def trial_rows(self) -> list[dict[str, Any]]:
        """One row per trial job and parameter set, in start order; a job that never got
        parameters has one row with parameter_id None. Keys: trial_job_id, parameter_id,
        parameter_index, parameters, final_metric, final_value, status, sequence, exit_code,
        message."""

    @abstractmethod
    def intermediate_results(self, parameter_id: int) -> list[float]:
        """The PERIODICAL values of a parameter set, in sequence order."""

    @abstractmethod
    def final_results(self) -> list[dict[str, Any]]:
        """``[{"parameter_id", "parameter", "value"}]`` (the raw metric), for import_data."""

    @abstractmethod
    def final_metric(self, parameter_id: int) -> Metric | None:
        """The final result of a parameter set, or None when it has none."""

    @abstractmethod
    def parameter_set(self, trial_job_id: str, parameter_index: int) -> ParameterSet | None:
        """The configuration a job got at ``parameter_index``, or None."""

    @abstractmethod
    def events(self) -> list[dict[str, Any]]:
        """Every event (time, trial_job_id, kind, detail), oldest first."""

    @abstractmethod
    def trial_job_ids(self) -> set[str]: ...

    @abstractmethod
    def next_parameter_id(self) -> int:
        """One above the largest parameter id stored (0 for none)."""

    @abstractmethod
    def counted_configurations(self) -> int:
        """Parameter sets handed out, plus trial jobs that ended before asking for one (a job
        whose set was retried in another job, TRIAL_RETRY, is not one)."""

    @abstractmethod
    def interrupted(self) -> list[tuple[str, ParameterSet | None]]:
        """The trial jobs left RUNNING by a run that died, in start order, with what a resume
        runs again: the job's latest parameter set when it has no final result, or None when
        the job never got one. A job whose latest set has its result is not listed."""

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Trial jobs by status."""

    # --- following a store that grows (the dashboard) -----------------------------------
    # Each kind of record is read by its append order from a position the caller keeps
    # (0 at first): every call returns the new position and only what came after the old
    # one, so a follower of a store of 100,000 results reads each record once.

    @abstractmethod
    def data_version(self) -> int:
        """A number that moves whenever another connection committed: the same number as
        at the last look means nothing new (one cheap query)."""

    @abstractmethod
    def snapshot(self) -> AbstractContextManager[None]:
        """The reads inside see the store at one moment (one read transaction)."""

    @abstractmethod
    def jobs_after(self, position: int) -> tuple[int, list[StoredJob]]:
        """Trial jobs stored after ``position``, in start order."""

    @abstractmethod
    def jobs(self, trial_job_ids: Iterable[str]) -> list[StoredJob]:
        """The current state of these trial jobs (to follow those still running)."""

    @abstractmethod
    def parameter_sets_after(self, parameter_id: int) -> list[ParameterSet]:
        """Parameter sets with an id above ``parameter_id`` (-1: all), by id."""

    @abstractmethod
    def metrics_after(self, position: int) -> tuple[int, list[Metric]]:
        """Intermediate and final results stored after ``position``, in the order stored."""

    @abstractmethod
    def events_after(self, position: int) -> tuple[int, list[Event]]:
        """Events stored after ``position``, oldest first."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> StoreReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Store(StoreReader):
    """Read and write access; one per experiment run."""

    @abstractmethod
    def create_experiment(self, record: ExperimentRecord) -> None:
        """The experiment row, status RUNNING (committed with the next commit)."""

    @abstractmethod
    def set_experiment_status(
        self, status: str, message: str | None = None, *, ended: bool = False
    ) -> None: ...

    @abstractmethod
    def add_job_start(self, record: JobStart) -> None: ...

    @abstractmethod
    def add_job_end(self, record: JobEnd) -> None: ...

    @abstractmethod
    def add_parameter_sets(self, records: Iterable[ParameterSet]) -> None:
        """A set already stored (same parameter id: a retry) moves to the record's job and
        index."""

    @abstractmethod
    def add_metrics(self, records: Iterable[Metric]) -> None:
        """A report already stored (same job, parameter, type and sequence; for FINAL: the
        same parameter set) is ignored: retries after a lost ACK are stored once."""

    @abstractmethod
    def add_event(self, record: Event) -> None: ...

    @abstractmethod
    def reopen(self) -> None:
        """Mark the experiment RUNNING again (resume); trial jobs left RUNNING by a run that
        died are recorded as FAILED, since nothing watches them any more."""

    @abstractmethod
    def commit(self) -> None:
        """Make everything added since the last commit durable, as one transaction."""
