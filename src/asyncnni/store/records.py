"""What the dispatcher and the experiment hand the store: one record type per kind of row.

Records are immutable named tuples (a report makes one on the hot path, and a frozen
dataclass costs several times more to build); how they are encoded (JSON, SQL) is the store
implementation's business. ``time`` is when the thing happened, in seconds since the epoch;
None means "now": the store stamps the time of the write (within one burst of messages).
"""

from __future__ import annotations

from typing import Any, NamedTuple


class ExperimentRecord(NamedTuple):
    experiment_id: str
    name: str | None
    config: dict  # the config as stored (config_to_record), read back by resume
    search_space: dict
    time: float | None = None


class JobStart(NamedTuple):
    """A trial job the training service is about to start; it is RUNNING from now on."""

    trial_job_id: str
    sequence: int  # order of start within the experiment, from 0
    trial_dir: str
    time: float | None = None


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
    """Something worth keeping that is not a result: a tuner error, an assessor kill, a retry."""

    kind: str
    trial_job_id: str | None = None
    detail: str | None = None
    time: float | None = None
