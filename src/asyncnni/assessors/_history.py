"""What the built-in assessors share: each running trial's results, kept as numbers."""

from __future__ import annotations

from typing import Any

from ..assessor import Assessor
from ..tuner import OptimizeMode, metric_scalar


def integer_arg(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` when it is an integer >= ``minimum`` (booleans are not), else ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, not {value!r}")
    return value


class HistoryAssessor(Assessor):
    """An assessor that remembers the intermediate results of each running trial."""

    def __init__(self, optimize_mode: str) -> None:
        self.optimize_mode = OptimizeMode.parse(optimize_mode)
        self._histories: dict[str, list[float]] = {}

    def _record(self, trial_job_id: str, trial_history: list[Any]) -> list[float]:
        history = [metric_scalar(value) for value in trial_history]
        self._histories[trial_job_id] = history
        return history

    def _forget(self, trial_job_id: str, success: bool) -> list[float] | None:
        """The trial's results when it completed successfully with some, else None."""
        history = self._histories.pop(trial_job_id, None)
        return history if success and history else None
