"""Medianstop: stop a trial that does worse than the median of the completed ones (NNI's rule)."""

from __future__ import annotations

from itertools import accumulate
from typing import Any

from ..assessor import Assessor, AssessResult
from ..tuner import OptimizeMode, scalar_metric


class MedianstopAssessor(Assessor):
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
        self.optimize_mode = OptimizeMode.parse(optimize_mode)
        if isinstance(start_step, bool) or not isinstance(start_step, int) or start_step < 0:
            raise ValueError(f"start_step must be a non-negative integer, not {start_step!r}")
        self.start_step = start_step
        self._running: dict[str, list[float]] = {}
        self._completed_averages: dict[str, list[float]] = {}

    async def assess_trial(
        self, trial_job_id: str, trial_history: list[Any], **info: Any
    ) -> AssessResult:
        history = [scalar_metric(value) for value in trial_history]
        self._running[trial_job_id] = history
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
        history = self._running.pop(trial_job_id, None)
        if success and history:
            self._completed_averages[trial_job_id] = [
                total / count for count, total in enumerate(accumulate(history), start=1)
            ]
