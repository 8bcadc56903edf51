"""The TrainingService interface: what the experiment asks of whatever runs its trial jobs.

A training service starts and stops trial jobs and says how each ended; it never chooses
parameters (the dispatcher is the only place where tuners and training services meet).
The experiment looks a service up by ``training_service.platform`` (see
:mod:`asyncnni.training`) and uses it only through this interface:

- ``async with service.preparing():`` is entered first, before the tuner is set up, and
  encloses the rest: a service starts there what is slow to get ready (the fork launcher's
  template); ``async with service:`` brackets the run (connect to a cluster, start helpers,
  ...); leaving either releases what it started, also when the run is cancelled;
- ``await service.run(job)`` runs one trial job to its end and returns its TrialExit; it is
  called at most ``capacity`` times at once, each in a task of its own; a cancelled ``run``
  ends the job's whole process tree before it returns (and then raises the cancellation);
- ``kill(trial_job_id, reason, event)`` asks a running job to end; its ``run`` then returns
  ``TrialExit(event, ..., reason)``. Unknown or finished ids are ignored. ``kill_all`` ends
  every running job as USER_CANCELED. Both are safe from the event loop's thread only.
- a job lost to the infrastructure (its node or worker died under it) ends FAILED with
  ``TrialExit.lost`` set; the dispatcher may then run its parameter set again
  (``max_trial_retries``);
- ``address_kind`` says which dispatcher address trials can reach: ``"ipc"`` when they run
  on this machine, ``"tcp"`` when they run elsewhere;
- ``clock`` is the time its trials live in: the event loop's (real seconds) by default, a
  simulated one for ``platform: simulated``. The experiment counts ``max_experiment_duration``
  on it, and a service that enforces ``max_trial_duration`` counts it there too.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

from ..protocol import TrialEvent

if TYPE_CHECKING:
    from ..config import ExperimentConfig

SUCCEEDED = TrialEvent.SUCCEEDED
FAILED = TrialEvent.FAILED
EARLY_STOPPED = TrialEvent.EARLY_STOPPED
USER_CANCELED = TrialEvent.USER_CANCELED


@dataclass(frozen=True)
class TrialJob:
    trial_job_id: str
    sequence: int  # order of start within the experiment, from 0
    trial_dir: Path  # its own output folder (trial.log goes there)
    env: dict[str, str]  # the ASYNCNNI_* variables of DESIGN.md for this job


@dataclass(frozen=True)
class TrialExit:
    event: TrialEvent
    exit_code: int | None
    message: str | None = None  # why, for a person: "exit code 1: ValueError: ..." and the like
    # the infrastructure lost the job (its node died, its worker was killed), not the trial's
    # own failure: its parameter set may run again (max_trial_retries)
    lost: bool = False


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """Where a training service's time comes from: ``now`` in seconds, and ``call_at(when,
    callback)``, which runs ``callback`` (in the event loop) once ``now`` reaches ``when``
    unless the returned handle is cancelled first."""

    @property
    def now(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], object]) -> Cancellable: ...


class LoopClock:
    """The running event loop's monotonic clock: real seconds (every service but the
    simulated one)."""

    @property
    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def call_at(self, when: float, callback: Callable[[], object]) -> Cancellable:
        return asyncio.get_running_loop().call_at(when, callback)


class TrainingService(ABC):
    """Base of every training service; see the module docstring for the contract."""

    platform: ClassVar[str]
    address_kind: ClassVar[Literal["ipc", "tcp"]] = "ipc"
    clock: Clock = LoopClock()

    @classmethod
    @abstractmethod
    def from_config(cls, config: ExperimentConfig, folder: Path) -> TrainingService:
        """The service for an experiment whose files live in ``folder``. Raises ConfigError
        for settings it cannot honour, before anything starts."""

    def default_bind(self) -> str:
        """Where the dispatcher listens for a ``tcp`` service when ``dispatcher.bind`` is
        not given (a service whose trials may run elsewhere should ask for it instead)."""
        return "tcp://127.0.0.1:0"

    @property
    def capacity(self) -> int | None:
        """How many jobs it can run at once, or None when only trial_concurrency bounds it."""
        return None

    def preparing(self) -> AbstractAsyncContextManager[object]:
        """What the experiment enters first, around its whole set-up (tuner, store,
        sockets) and ``async with service``: a service may start there what is slow to get
        ready, so that it gets ready meanwhile, and must stop it on leaving when the run was
        refused before ``__aenter__`` (then nothing may have been created in the experiment's
        folder). The default does nothing."""
        return contextlib.nullcontext()

    async def __aenter__(self) -> TrainingService:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    @abstractmethod
    async def run(self, job: TrialJob) -> TrialExit: ...

    @abstractmethod
    def kill(self, trial_job_id: str, reason: str, event: TrialEvent = EARLY_STOPPED) -> None: ...

    @abstractmethod
    def kill_all(self, reason: str) -> None: ...


__all__ = [
    "Clock",
    "EARLY_STOPPED",
    "FAILED",
    "LoopClock",
    "SUCCEEDED",
    "USER_CANCELED",
    "TrainingService",
    "TrialEvent",
    "TrialExit",
    "TrialJob",
]
