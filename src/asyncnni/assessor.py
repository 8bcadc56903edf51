"""The assessor interface: early stopping of trials from their intermediate results.

An assessor sees each trial's intermediate results (PERIODICAL reports) as they arrive and
answers :attr:`AssessResult.Good` (let it run) or :attr:`AssessResult.Bad` (stop it); the
dispatcher then kills a Bad trial. It is written with ``async def`` methods (subclass
:class:`Assessor`) or, as in NNI, with plain ``def`` methods; the dispatcher reaches either
through :class:`AssessorDriver`.
"""

from __future__ import annotations

import enum
from typing import Any

from ._driver import PluginDriver

__all__ = ["AssessResult", "Assessor", "AssessorDriver"]


class AssessResult(enum.Enum):
    """An assessor's verdict on a running trial (NNI's values: ``AssessResult(True)`` is Good)."""

    Good = True
    Bad = False


class Assessor:
    """Base class of asynchronous assessors. Override ``assess_trial``; ``trial_end`` is optional.

    ``trial_history`` holds the trial job's intermediate results so far, oldest first, as
    numbers (the ``"default"`` entry of map metrics). ``info`` carries ``parameter_id``.
    """

    async def assess_trial(
        self, trial_job_id: str, trial_history: list[float], **info: Any
    ) -> AssessResult:
        """Good to let the trial go on, Bad to stop it."""
        raise NotImplementedError(f"{type(self).__name__} does not implement assess_trial")

    async def trial_end(self, trial_job_id: str, success: bool, **info: Any) -> None:
        """The trial job ended; ``success`` is False when it failed or was stopped early."""


class AssessorDriver(PluginDriver):
    """Calls one assessor object, whatever its style, from the event loop.

    Coroutine methods are awaited, plain ones run in a worker thread; a missing
    ``trial_end`` is skipped and keyword arguments a method cannot take are dropped.
    ``assess_trial`` may answer an AssessResult, NNI's own AssessResult, or a bool (True is
    Good); anything else is a TypeError naming the assessor.
    """

    KIND = "assessor"
    METHODS = ("assess_trial", "trial_end")
    REQUIRED = ("assess_trial",)

    def __init__(self, assessor: object) -> None:
        self.assessor = assessor
        super().__init__(assessor)

    async def assess_trial(
        self, trial_job_id: str, trial_history: list[float], **info: Any
    ) -> AssessResult:
        # a copy: a thread-run assessor must not see the list grow under it
        result = await self._call("assess_trial", trial_job_id, list(trial_history), **info)
        verdict = getattr(result, "value", result)  # another AssessResult enum, e.g. NNI's
        if not isinstance(verdict, bool):
            raise TypeError(
                f"assessor {self.name}.assess_trial({trial_job_id!r}) returned {result!r}, "
                "expected AssessResult.Good or AssessResult.Bad"
            )
        return AssessResult(verdict)

    async def trial_end(self, trial_job_id: str, success: bool, **info: Any) -> None:
        await self._call("trial_end", trial_job_id, success, **info)
