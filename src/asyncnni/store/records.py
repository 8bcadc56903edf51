"""What the dispatcher and the experiment hand the store: one record type per kind of row.

Records are immutable named tuples (a report makes one on the hot path, and a frozen
dataclass costs several times more to build); how they are encoded (JSON, SQL) is the store
implementation's business. ``time`` is when the thing happened, in seconds since the epoch;
None means "now": the store stamps the time of the write (within one burst of messages).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple


class ExperimentRecord(NamedTuple):
    experiment_id: str
    name: str | None
    config: dict  # the config as stored (config_to_record), read back by resume
    search_space: dict
    # the direction the run ranks results in, as the tuner resolved it (TPE's default is
    # minimize): readers of a stored experiment need it and cannot ask the tuner
    optimize_mode: str = "maximize"
    time: float | None = None


class JobStart(NamedTuple):
    """A trial job the training service is about to start; it is RUNNING from now on."""

    trial_job_id: str
    sequence: int  # order of start within the experiment, from 0
    trial_dir: str
    time: float | None = None


class StoredJob(NamedTuple):
    """A trial job as a reader sees it: its start and, once it ended, its end."""

    trial_job_id: str
    sequence: int
    status: str  # RUNNING or a TrialEvent
    trial_dir: str | None
    start_time: float
    end_time: float | None
    exit_code: int | None
    message: str | None


class JobEnd(NamedTuple):
    trial_job_id: str
    status: str  # a TrialEvent
    exit_code: int | None
    message: str | None
    time: float | None = None


class ParameterSet(NamedTuple):
    """One configuration the tuner produced; ``parameters`` holds plain values only."""

    parameter_id: int
    trial_job_id: str
    parameter_index: int
    parameters: dict
    source: str
    time: float | None = None


class Metric(NamedTuple):
    """One report: ``value`` is the number a tuner optimises, ``raw`` the metric as reported."""

    trial_job_id: str
    parameter_id: int
    type: str  # PERIODICAL or FINAL
    sequence: int
    value: float
    raw: Any
    time: float | None = None


class Event(NamedTuple):
    """Something worth keeping that is not a result: a tuner error (TUNER_ERROR), an assessor
    kill (ASSESSOR_KILL), a tuner's request that needs another parameter set's result
    (WAIT_FOR_RESULT, see :func:`wait_for_result_event`)."""

    kind: str
    trial_job_id: str | None = None
    detail: str | None = None
    time: float | None = None


WAIT_FOR_RESULT = "WAIT_FOR_RESULT"


def wait_for_result_event(
    trial_job_id: str, parameter_id: int, parent_id: int, waits: bool, time: float | None = None
) -> Event:
    """The tuner, generating ``parameter_id`` for ``trial_job_id``, asked for the result of
    ``parent_id`` (a weight-sharing child and its parent); ``waits``: the result was not
    there yet, so the job waits on it from this event's time until its parameter set is
    stored (or it ends)."""
    detail = {"parameter_id": parameter_id, "parent_id": parent_id, "waits": waits}
    return Event(WAIT_FOR_RESULT, trial_job_id, json.dumps(detail), time)


def waited_on(event: Event) -> tuple[int, int, bool]:
    """``(parameter_id, parent_id, waits)`` of a WAIT_FOR_RESULT event."""
    detail = json.loads(event.detail or "{}")
    return detail["parameter_id"], detail["parent_id"], bool(detail["waits"])
