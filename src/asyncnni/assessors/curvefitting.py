"""Curvefitting: predict where a learning curve ends, stop it when that is far from the best.

NNI's Curvefitting assessor fits an MCMC-weighted ensemble of twelve learning-curve models.
This one keeps the idea and trades the ensemble for three robust families, each fitted by
least squares (``scipy.optimize.curve_fit``) to the results so far, with the step as x:

* ``pow3``:       ``c - a * x ** -alpha``  (power-law saturation, alpha > 0)
* ``exp3``:       ``c - a * exp(-b * x)``  (exponential saturation, b > 0)
* ``log_linear``: ``a * log(x) + b``       (slow, unbounded improvement)

The prediction at ``epoch_num`` averages the families' predictions with Akaike weights
(``exp(-AIC / 2)``, AIC from each fit's squared error and parameter count): the family that
fits best dominates, and close contenders share the vote. Failed fits and non-finite
predictions are dropped. Both rising (accuracy) and falling (loss) curves fit, since ``a``
may have either sign.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import anyio.to_thread
import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

from ..assessor import AssessResult
from ..tuner import OptimizeMode
from ._history import HistoryAssessor, integer_arg

# the fewest results every family can be fitted to: each has at most three parameters
MIN_POINTS = 3
# mean squared error below this counts as an exact fit (keeps log() finite in the AIC)
_EXACT_MSE = 1e-12


def _pow3(x: np.ndarray, c: float, a: float, alpha: float) -> np.ndarray:
    return c - a * x ** (-alpha)


def _exp3(x: np.ndarray, c: float, a: float, b: float) -> np.ndarray:
    return c - a * np.exp(-b * x)


def _log_linear(x: np.ndarray, a: float, b: float) -> np.ndarray:
    return a * np.log(x) + b


# (model, initial guess from (first, last) result, bounds); the guesses pass through the
# first and last points closely enough for the least-squares fit to converge
_Family = tuple[Callable[..., np.ndarray], Callable[[float, float], list[float]], tuple]
_FAMILIES: tuple[_Family, ...] = (
    (_pow3, lambda y0, yn: [yn, yn - y0, 0.5], ([-np.inf, -np.inf, 1e-3], [np.inf, np.inf, 10.0])),
    (
        _exp3,
        lambda y0, yn: [yn, (yn - y0) * math.e**0.5, 0.5],
        ([-np.inf, -np.inf, 1e-3], [np.inf, np.inf, 10.0]),
    ),
    (_log_linear, lambda y0, yn: [0.0, y0], (-np.inf, np.inf)),
)


def predict_final(history: Sequence[float], epoch_num: int) -> float | None:
    """The value the curve ``history`` (results at steps 1, 2, ...) is predicted to reach at
    step ``epoch_num``, or None when it has fewer than MIN_POINTS results or nothing fits."""
    if len(history) < MIN_POINTS:
        return None
    y = np.asarray(history, dtype=float)
    x = np.arange(1, len(y) + 1, dtype=float)
    predictions, aics = [], []
    for model, guess, bounds in _FAMILIES:
        with warnings.catch_warnings():
            # a flat or noisy curve leaves some parameters undetermined: not an error here
            warnings.simplefilter("ignore", OptimizeWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                params, _ = curve_fit(
                    model, x, y, p0=guess(y[0], y[-1]), bounds=bounds, maxfev=2000
                )
            except (RuntimeError, ValueError):
                continue
            value = float(model(np.float64(epoch_num), *params))
            mse = float(np.mean((model(x, *params) - y) ** 2))
        if math.isfinite(value) and math.isfinite(mse):
            predictions.append(value)
            aics.append(len(y) * math.log(max(mse, _EXACT_MSE)) + 2 * len(params))
    if not predictions:
        return None
    weights = np.exp(-(np.asarray(aics) - min(aics)) / 2)
    return float(np.dot(weights, predictions) / weights.sum())


class CurvefittingAssessor(HistoryAssessor):
    """Stops a trial whose predicted result at ``epoch_num`` is worse than ``threshold`` times
    the best final result so far (NNI's rule).

    A trial is judged from ``start_step`` results on, then every ``gap`` results; until one
    trial has completed successfully every trial is Good. A completed trial's final result is
    its last intermediate result. When minimising, "worse than threshold times the best"
    means above ``best / threshold``. As in NNI, metrics are assumed positive (accuracy, loss).

    Class args: ``epoch_num`` (20: how many results a full trial reports), ``start_step`` (6),
    ``threshold`` (0.95), ``gap`` (1), ``optimize_mode`` (maximize).
    """

    def __init__(
        self,
        epoch_num: int = 20,
        start_step: int = 6,
        threshold: float = 0.95,
        gap: int = 1,
        optimize_mode: str = "maximize",
    ) -> None:
        number = isinstance(threshold, int | float) and not isinstance(threshold, bool)
        if not number or not 0 < threshold <= 1:
            raise ValueError(f"threshold must be a number in (0, 1], not {threshold!r}")
        super().__init__(optimize_mode)
        self.epoch_num = integer_arg("epoch_num", epoch_num)
        self.start_step = max(integer_arg("start_step", start_step), MIN_POINTS)
        self.gap = integer_arg("gap", gap)
        self.threshold = float(threshold)
        self.best: float | None = None  # the best final result of a completed trial
        self._last_judged: dict[str, int] = {}

    async def assess_trial(
        self, trial_job_id: str, trial_history: list[Any], **info: Any
    ) -> AssessResult:
        history = self._record(trial_job_id, trial_history)
        step = len(history)
        if self.best is None or step < self.start_step:
            return AssessResult.Good
        last = self._last_judged.get(trial_job_id)
        if last is not None and step - last < self.gap:
            return AssessResult.Good
        self._last_judged[trial_job_id] = step
        # fitting takes milliseconds of CPU: off the event loop
        predicted = await anyio.to_thread.run_sync(predict_final, history, self.epoch_num)
        if predicted is None:
            return AssessResult.Good
        if self.optimize_mode is OptimizeMode.MAXIMIZE:
            bar = self.threshold * self.best
        else:
            bar = self.best / self.threshold
        return AssessResult.Bad if self.optimize_mode.better(bar, predicted) else AssessResult.Good

    async def trial_end(self, trial_job_id: str, success: bool, **info: Any) -> None:
        history = self._forget(trial_job_id, success)
        self._last_judged.pop(trial_job_id, None)
        if history:
            final = history[-1]
            if self.best is None or self.optimize_mode.better(final, self.best):
                self.best = final
