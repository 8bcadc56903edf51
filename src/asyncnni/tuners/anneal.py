"""Simulated annealing (hyperopt's and NNI's Anneal): sample around good results, ever closer."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..search_space import SearchSpace
from ._base import History, ModelBasedTuner
from ._neighbours import active_dims
from .tpe import constant_liar


class AnnealOptimizer(History):
    """Each suggestion samples a shrinking neighbourhood of one of the best results so far.

    Hyperopt's rule (NNI's Anneal runs hyperopt's): the base is the result at rank ``k``
    (0 is the best), ``k + 1`` drawn geometrically with mean ``avg_best_idx``, so half the
    suggestions start from the best result. A numeric dimension is drawn uniformly from a
    window of ``1 / (1 + T * shrink_coef)`` of its unit range around the base's value,
    shifted inside [0, 1]; a choice is redrawn with that probability. ``T`` counts the
    suggestions so far where the dimension was active, the pending ones included (they are
    places already being looked at). With a ``liar`` (best, worst or mean), suggestions
    still in flight count as results with that loss, so they may serve as bases too.
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
        self._seen = np.zeros(space.n_dims)  # per dimension: results where it was active

    def tell(self, vector: np.ndarray, loss: float) -> None:
        super().tell(vector, loss)
        self._seen += active_dims(self.space, vector)

    def ask(self, pending: Sequence[np.ndarray] = ()) -> np.ndarray:
        vectors, losses = list(self.vectors), list(self.losses)
        seen = self._seen + sum((active_dims(self.space, v) for v in pending), np.zeros(1))
        if losses and pending and self.liar is not None:
            lie = {"best": min, "worst": max, "mean": np.mean}[self.liar](losses)
            vectors += list(pending)
            losses += [float(lie)] * len(pending)
        n = len(losses)
        if n == 0:
            return self.space.random_vector(self.rng)
        rank = min(int(self.rng.geometric(1.0 / self.avg_best_idx)) - 1, n - 1)
        base = vectors[int(np.argsort(losses, kind="stable")[rank])]
        return self._neighbour(base, 1.0 / (1.0 + seen * self.shrink_coef))

    def _neighbour(self, base: np.ndarray, width: np.ndarray) -> np.ndarray:
        """A draw from the windows of ``width`` (per dimension) around ``base``."""
        space, rng = self.space, self.rng
        out = np.where(np.isnan(base), space.random_vector(rng), base)
        numeric = active_dims(space, base) & ~space.categorical
        half = 0.5 * width[numeric]
        centre = np.clip(out[numeric], half, 1.0 - half)
        out[numeric] = centre + half * (2.0 * rng.random(int(numeric.sum())) - 1.0)
        # a changed choice activates dimensions the base never set: their priors' draws
        redraw = space.categorical & (rng.random(space.n_dims) < width)
        out[redraw] = np.floor(rng.random(int(redraw.sum())) * space.n_choices[redraw])
        return out


class AnnealTuner(ModelBasedTuner):
    """Anneal over the whole HPO language (nested choices included).

    Class args: ``optimize_mode`` ("minimize" by default, as NNI's Anneal), ``seed``,
    ``avg_best_idx`` (2.0: the mean of one plus the rank of the base, as hyperopt's),
    ``shrink_coef`` (0.1: how fast the neighbourhood shrinks), and NNI's ``parallel_optimize`` (false) with
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
        if avg_best_idx < 1 or shrink_coef < 0:
            raise ValueError("need avg_best_idx >= 1 and shrink_coef >= 0")
