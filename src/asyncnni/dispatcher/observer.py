"""What an experiment looks like while it runs: counts, the best result, who waits on whom.

The dispatcher and the experiment tell the observer what happened; the terminal view and the
dashboard read it and may subscribe to be told of each change. Nothing here touches the store
or the sockets, and with nobody subscribed a report costs one dict update.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..protocol import TrialEvent
from ..tuner import OptimizeMode

log = logging.getLogger("asyncnni.observer")


@dataclass
class Progress:
    """Counters of trial jobs, and the best final result so far."""

    started: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    early_stopped: int = 0
    canceled: int = 0
    best: float | None = None
    waiting_on: dict[str, int] = field(default_factory=dict)  # job -> parent parameter id

    @property
    def done(self) -> int:
        return self.succeeded + self.failed + self.early_stopped + self.canceled


@dataclass(frozen=True)
class Best:
    parameter_id: int
    trial_job_id: str
    value: float
    parameters: dict


@dataclass(frozen=True)
class Change:
    """One thing that happened: ``kind`` is "result", "intermediate", "job_started",
    "job_ended" or "waiting"; ``data`` holds its details."""

    kind: str
    data: dict[str, Any]


_COUNTER = {
    TrialEvent.SUCCEEDED: "succeeded",
    TrialEvent.FAILED: "failed",
    TrialEvent.EARLY_STOPPED: "early_stopped",
    TrialEvent.USER_CANCELED: "canceled",
}


class ExperimentObserver:
    def __init__(self, optimize_mode: OptimizeMode | str = OptimizeMode.MAXIMIZE) -> None:
        self.optimize_mode = OptimizeMode.parse(optimize_mode)
        self.progress = Progress()
        self.best: Best | None = None
        self.latest: dict[str, float] = {}  # running job -> its latest intermediate result
        self._subscribers: list[Callable[[Change], None]] = []

    def subscribe(self, callback: Callable[[Change], None]) -> Callable[[], None]:
        """Call ``callback`` (in the event loop's thread) with each Change; returns the
        function that unsubscribes. A callback must not block."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def _tell(self, kind: str, **data: Any) -> None:
        for callback in list(self._subscribers):
            try:
                callback(Change(kind, data))
            except Exception:
                log.exception("an observer of the experiment failed on %s", kind)

    # --- told by the experiment and the dispatcher ------------------------------------

    def resumed(self, counts: dict[str, int], started: int, best: Best | None) -> None:
        progress = self.progress
        progress.started = started
        for event, name in _COUNTER.items():
            if event is not TrialEvent.FAILED:
                setattr(progress, name, counts.get(event, 0))
        progress.failed = started - progress.succeeded - progress.early_stopped - progress.canceled
        self._set_best(best)

    def job_started(self, trial_job_id: str) -> None:
        self.progress.started += 1
        self.progress.running += 1
        if self._subscribers:
            self._tell("job_started", trial_job_id=trial_job_id)

    def job_ended(self, trial_job_id: str, event: TrialEvent, message: str | None) -> None:
        progress = self.progress
        progress.running -= 1
        name = _COUNTER.get(event, "canceled")
        setattr(progress, name, getattr(progress, name) + 1)
        self.latest.pop(trial_job_id, None)
        if self._subscribers:
            self._tell("job_ended", trial_job_id=trial_job_id, event=str(event), message=message)

    def intermediate(self, trial_job_id: str, parameter_id: int, value: float) -> None:
        self.latest[trial_job_id] = value
        if self._subscribers:
            self._tell(
                "intermediate", trial_job_id=trial_job_id, parameter_id=parameter_id, value=value
            )

    def result(self, trial_job_id: str, parameter_id: int, value: float, parameters: dict) -> None:
        best = self.best
        if best is None or self.optimize_mode.better(value, best.value):
            self._set_best(Best(parameter_id, trial_job_id, value, parameters))
        if self._subscribers:
            self._tell("result", trial_job_id=trial_job_id, parameter_id=parameter_id, value=value)

    def waiting(self, trial_job_id: str, parent: int | None) -> None:
        """``trial_job_id``'s request waits on ``parent`` (None: it no longer waits)."""
        if parent is None:
            if self.progress.waiting_on.pop(trial_job_id, None) is None:
                return
        else:
            self.progress.waiting_on[trial_job_id] = parent
        if self._subscribers:
            self._tell("waiting", trial_job_id=trial_job_id, parent=parent)

    def _set_best(self, best: Best | None) -> None:
        self.best = best
        self.progress.best = best.value if best is not None else None
