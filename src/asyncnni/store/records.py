"""What the dispatcher and the experiment hand the store: one record type per kind of row.

Records are plain values; how they are encoded (JSON, SQL) is the store implementation's
business. ``time`` is when the thing happened (seconds since the epoch)."""

from __future__ import annotations

import time as _time
from dataclasses import dataclass, field
from typing import Any


def _now() -> float:
    return _time.time()


@dataclass(frozen=True, slots=True)
class ExperimentRecord:
    experiment_id: str
    name: str | None
    config: dict  # the config as stored (config_to_record), read back by resume
    search_space: dict
    time: float = field(default_factory=_now)


@dataclass(frozen=True, slots=True)
class JobStart:
    """A trial job the training service is about to start; it is RUNNING from now on."""

    trial_job_id: str
    sequence: int  # order of start within the experiment, from 0
    trial_dir: str
    time: float = field(default_factory=_now)


@dataclass(frozen=True, slots=True)
class JobEnd:
    trial_job_id: str
    status: str  # a TrialEvent
    exit_code: int | None
    message: str | None
    time: float = field(default_factory=_now)


@dataclass(frozen=True, slots=True)
class ParameterSet:
    """One configuration the tuner produced; ``parameters`` holds plain values only."""

    parameter_id: int
    trial_job_id: str
    parameter_index: int
    parameters: dict
    source: str
    time: float = field(default_factory=_now)


@dataclass(slots=True)  # not frozen: building a frozen one costs 4 us (object.__setattr__ per
class Metric:  # field), a third of the dispatcher's work per report; treat it as a value too
    """One report: ``value`` is the number a tuner optimises, ``raw`` the metric as reported."""

    trial_job_id: str
    parameter_id: int
    type: str  # PERIODICAL or FINAL
    sequence: int
    value: float
    raw: Any
    time: float = field(default_factory=_now)


@dataclass(frozen=True, slots=True)
class Event:
    """Something worth keeping that is not a result: a tuner error, an assessor kill, a retry."""

    kind: str
    trial_job_id: str | None = None
    detail: str | None = None
    time: float = field(default_factory=_now)
