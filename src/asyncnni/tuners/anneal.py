"""Simulated annealing (hyperopt's and NNI's Anneal): sample around good results, ever closer."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..search_space import SearchSpace
from ._base import History, ModelBasedTuner
from ._neighbours import perturb


class AnnealOptimizer(History):
    """Each suggestion perturbs one of the best results so far.

    The base is the result at rank ``k`` (0 is the best), ``k`` drawn geometrically with mean
    ``avg_best_idx``; the step size ``1 / (1 + n * shrink_coef)`` shrinks as results arrive
    (n of them), and choices are redrawn with that same probability.
    """

    def __init__(
        self,
        space: SearchSpace,
        rng: np.random.Generator,
        *,
        avg_best_idx: float = 2.0,
        shrink_coef: float = 0.1,
    ) -> None:
        super().__init__()
        self.space, self.rng = space, rng
        self.avg_best_idx, self.shrink_coef = avg_best_idx, shrink_coef

    def ask(self, pending: Sequence[np.ndarray] = ()) -> np.ndarray:
        n = len(self.losses)
        if n == 0:
            return self.space.random_vector(self.rng)
        rank = min(int(self.rng.geometric(1.0 / (1.0 + self.avg_best_idx))) - 1, n - 1)
        base = self.vectors[int(np.argsort(self.losses, kind="stable")[rank])]
        width = 1.0 / (1.0 + n * self.shrink_coef)
        return perturb(self.space, base, self.rng, sigma=width, p_choice=width)


class AnnealTuner(ModelBasedTuner):
    """Anneal over the whole HPO language (nested choices included).

    Class args: ``optimize_mode`` ("maximize"), ``seed``, ``avg_best_idx`` (2.0: how far down
    the ranking a base is picked), ``shrink_coef`` (0.1: how fast steps shrink).
    """

    optimizer_class = AnnealOptimizer

    def __init__(
        self,
        optimize_mode: str = "maximize",
        seed: int | None = None,
        avg_best_idx: float = 2.0,
        shrink_coef: float = 0.1,
    ) -> None:
        super().__init__(optimize_mode, seed, avg_best_idx=avg_best_idx, shrink_coef=shrink_coef)
        if avg_best_idx <= 0 or shrink_coef < 0:
            raise ValueError("need avg_best_idx > 0 and shrink_coef >= 0")
