"""Medianstop: stop a trial that does worse than the median of the completed ones (NNI's rule)."""

from __future__ import annotations

from itertools import accumulate
from typing import Any

from ..assessor import AssessResult
from ..tuner import OptimizeMode
from ._history import HistoryAssessor, integer_arg


class MedianstopAssessor(HistoryAssessor):
    """NNI's Medianstop assessor.

    At step ``t`` (the t-th intermediate result) a trial is Bad when its best result so far is
    worse than the median, over the trials that completed successfully with at least ``t``
    results, of their running averages at step ``t``. With no such completed trial, or before
    ``start_step`` results, it is Good.

    As in NNI, an even count takes the middle value that is harder to fall behind: the lower
    one when maximising, the upper one when minimising. Unlike NNI, results reported before
    ``start_step`` are kept, so a trial that completes early still counts for the others.

    Class args: ``optimize_mode`` (``maximize`` or ``minimize``, default maximize) and
    ``start_step`` (default 0).
    """

    def __init__(self, optimize_mode: str = "maximize", start_step: int = 0) -> None:
        super().__init__(optimize_mode)
        self.start_step = integer_arg("start_step", start_step, minimum=0)
        self._completed_averages: dict[str, list[float]] = {}

    async def assess_trial(
        self, trial_job_id: str, trial_history: list[Any], **info: Any
    ) -> AssessResult:
        history = self._record(trial_job_id, trial_history)
        step = len(history)
        if step == 0 or step < self.start_step:
            return AssessResult.Good
        averages = sorted(
            running[step - 1]
            for running in self._completed_averages.values()
            if len(running) >= step
        )
        if not averages:
            return AssessResult.Good
        if self.optimize_mode is OptimizeMode.MAXIMIZE:
            median, best = averages[(len(averages) - 1) // 2], max(history)
        else:
            median, best = averages[len(averages) // 2], min(history)
        return AssessResult.Bad if self.optimize_mode.better(median, best) else AssessResult.Good

    async def trial_end(self, trial_job_id: str, success: bool, **info: Any) -> None:
        history = self._forget(trial_job_id, success)
        if history:
            self._completed_averages[trial_job_id] = [
                total / count for count, total in enumerate(accumulate(history), start=1)
            ]
