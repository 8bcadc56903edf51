"""Multi-fidelity test functions: ``(parameters, budget) -> loss or learning curve``, pure numpy.

Each benchmark names its search space (NNI's language), its largest budget, its cost per
budget unit in simulated seconds, and its optimum at the largest budget, so a run's simple
regret is exact. docs/multi_fidelity.md defines both functions in full.

* :data:`MF_HARTMANN6`: the multi-fidelity Hartmann6 of Kandasamy et al. 2017 (BOCA), whose
  fidelity ``z = budget / max_budget`` shifts the alpha vector:
  ``f(x, z) = -sum_i (alpha_i - 0.1 (1 - z)) exp(-sum_j A_ij (x_j - P_ij)**2)``.
* :data:`CROSSING_CURVES`: learning curves of a made-up network whose fast learners (large
  learning rates) stop early at a worse error, so curves cross and the ranking after a few
  epochs is not the final one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

HARTMANN6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
HARTMANN6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_DELTA = 0.1  # BOCA's shift of every alpha at fidelity 0


@dataclass(frozen=True)
class Benchmark:
    """A multi-fidelity objective: ``function(parameters, budget)`` is the loss at ``budget``,
    or the learning curve up to it (one loss per budget unit, the last one the result)."""

    name: str
    search_space: dict[str, Any]
    function: Callable[[dict[str, Any], float], float | list[float]]
    max_budget: float
    min_budget: float
    #: simulated seconds one budget unit of a configuration costs
    cost: Callable[[dict[str, Any]], float]
    optimum: float  # the smallest loss at max_budget

    def final(self, parameters: dict[str, Any]) -> float:
        """The loss at ``max_budget``: what a configuration is worth."""
        out = self.function(parameters, self.max_budget)
        return out[-1] if isinstance(out, list) else out


def mf_hartmann6(parameters: dict[str, Any], budget: float) -> float:
    """BOCA's Hartmann6 at fidelity ``budget / 81`` (minimise; -3.32237 at full fidelity)."""
    x = np.array([parameters[f"x{i}"] for i in range(1, 7)], dtype=float)
    z = min(budget / MF_HARTMANN6_MAX_BUDGET, 1.0)
    alpha = _H6_ALPHA - _H6_DELTA * (1.0 - z)
    return float(-(alpha * np.exp(-((x - HARTMANN6_P) ** 2 * HARTMANN6_A).sum(axis=1))).sum())


MF_HARTMANN6_MAX_BUDGET = 81

MF_HARTMANN6 = Benchmark(
    name="mf_hartmann6",
    search_space={f"x{i}": {"_type": "uniform", "_value": [0, 1]} for i in range(1, 7)},
    function=mf_hartmann6,
    max_budget=MF_HARTMANN6_MAX_BUDGET,
    min_budget=1,
    cost=lambda parameters: 60.0,  # a minute per budget unit: 81 minutes at full fidelity
    optimum=-3.3223680114155,  # at x = (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573)
)


def _asymptote(lr: np.ndarray, batch: np.ndarray, layers: np.ndarray, dropout: np.ndarray):
    u = np.log10(lr)
    return (
        0.05
        + 0.02 * (u + 2.0) ** 2
        + 0.01 * (layers - 3.0) ** 2
        + 0.2 * (dropout - 0.25) ** 2
        + 0.02 * np.abs(np.log2(batch) - 6.0)
    )


def _time_constant(lr: np.ndarray, batch: np.ndarray, layers: np.ndarray) -> np.ndarray:
    return 8.0 * 10.0 ** (-0.5 * (np.log10(lr) + 2.0)) * np.sqrt(batch / 64.0) * layers**0.3


def crossing_curves(parameters: dict[str, Any], budget: float) -> list[float]:
    """Validation error after each epoch ``1 .. budget``:
    ``e(t) = e_inf + (0.9 - e_inf) * exp(-t / tau)`` (see docs/multi_fidelity.md)."""
    lr, batch = float(parameters["lr"]), float(parameters["batch_size"])
    layers, dropout = float(parameters["layers"]), float(parameters["dropout"])
    e_inf = float(_asymptote(lr, batch, layers, dropout))
    tau = float(_time_constant(lr, batch, layers))
    t = np.arange(1, max(int(round(budget)), 1) + 1)
    return (e_inf + (0.9 - e_inf) * np.exp(-t / tau)).tolist()


_CURVES_SPACE = {
    "lr": {"_type": "loguniform", "_value": [1e-4, 1.0]},
    "batch_size": {"_type": "choice", "_value": [16, 32, 64, 128, 256]},
    "layers": {"_type": "randint", "_value": [1, 6]},
    "dropout": {"_type": "uniform", "_value": [0.0, 0.6]},
}


def _curves_optimum(epochs: int) -> float:
    """The smallest error at ``epochs``, on a grid fine enough for 1e-6 (the minimum is at
    dropout 0.25 exactly, and smooth in lr)."""
    lr = 10.0 ** np.linspace(-4, 0, 40001)
    best = math.inf
    for batch in (16, 32, 64, 128, 256):
        for layers in range(1, 6):
            e_inf = _asymptote(lr, batch, layers, 0.25)
            tau = _time_constant(lr, batch, layers)
            best = min(best, float((e_inf + (0.9 - e_inf) * np.exp(-epochs / tau)).min()))
    return best


CROSSING_CURVES = Benchmark(
    name="crossing_curves",
    search_space=_CURVES_SPACE,
    function=crossing_curves,
    max_budget=81,
    min_budget=1,
    # an epoch takes longer with more layers and smaller batches (more steps)
    cost=lambda p: 20.0 * p["layers"] / 3.0 * math.sqrt(64.0 / p["batch_size"]),
    optimum=_curves_optimum(81),
)

BENCHMARKS = {b.name: b for b in (MF_HARTMANN6, CROSSING_CURVES)}
