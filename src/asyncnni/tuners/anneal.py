"""Simulated annealing (hyperopt's and NNI's Anneal): sample around good results, ever closer."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..search_space import SearchSpace
from ._base import History, ModelBasedTuner
from ._neighbours import perturb
from .tpe import constant_liar


class AnnealOptimizer(History):
    """Each suggestion perturbs one of the best results so far.

    The base is the result at rank ``k`` (0 is the best), ``k`` drawn geometrically with mean
    ``avg_best_idx``; the step size ``1 / (1 + n * shrink_coef)`` shrinks as results arrive
    (n of them), and choices are redrawn with that same probability. With a ``liar``
    (best, worst or mean), suggestions still in flight count as results with the best, the
    worst or the mean loss so far, so concurrent asks spread out.
    """

    def __init__(
        self,
        space: SearchSpace,
        rng: np.random.Generator,
        *,
        avg_best_idx: float = 2.0,
        shrink_coef: float = 0.1,
        liar: str | None = None,
    ) -> None:
        super().__init__()
        self.space, self.rng = space, rng
        self.avg_best_idx, self.shrink_coef, self.liar = avg_best_idx, shrink_coef, liar

    def ask(self, pending: Sequence[np.ndarray] = ()) -> np.ndarray:
        vectors, losses = list(self.vectors), list(self.losses)
        if losses and pending and self.liar is not None:
            lie = {"best": min, "worst": max, "mean": np.mean}[self.liar](losses)
            vectors += list(pending)
            losses += [float(lie)] * len(pending)
        n = len(losses)
        if n == 0:
            return self.space.random_vector(self.rng)
        rank = min(int(self.rng.geometric(1.0 / (1.0 + self.avg_best_idx))) - 1, n - 1)
        base = vectors[int(np.argsort(losses, kind="stable")[rank])]
        width = 1.0 / (1.0 + n * self.shrink_coef)
        return perturb(self.space, base, self.rng, sigma=width, p_choice=width)


class AnnealTuner(ModelBasedTuner):
    """Anneal over the whole HPO language (nested choices included).

    Class args: ``optimize_mode`` ("minimize" by default, as NNI's Anneal), ``seed``,
    ``avg_best_idx`` (2.0: how far down the ranking a base is picked), ``shrink_coef`` (0.1:
    how fast steps shrink), and NNI's ``parallel_optimize`` (false) with
    ``constant_liar_type`` (min, max or mean; default min): lie about trials in flight.
    """

    optimizer_class = AnnealOptimizer

    def __init__(
        self,
        optimize_mode: str = "minimize",
        seed: int | None = None,
        avg_best_idx: float = 2.0,
        shrink_coef: float = 0.1,
        parallel_optimize: bool = False,
        constant_liar_type: str | None = None,
    ) -> None:
        liar = constant_liar(None, parallel_optimize, constant_liar_type)
        super().__init__(
            optimize_mode, seed, avg_best_idx=avg_best_idx, shrink_coef=shrink_coef, liar=liar
        )
        if avg_best_idx <= 0 or shrink_coef < 0:
            raise ValueError("need avg_best_idx > 0 and shrink_coef >= 0")
