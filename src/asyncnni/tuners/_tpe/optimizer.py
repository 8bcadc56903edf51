"""TPE as a pure ask/tell optimiser over a search space's encoding.

Observations are kept in growing arrays, with their order by loss maintained on insertion,
so a result costs O(n) copies and no refit. Each ask splits the observations into the best
``gamma(n)`` ("below") and the rest ("above"), then samples group by group, top level first:
for a group (the dimensions one level of nested choices activates) it fits a Parzen
estimator l to the below observations where that group was active and g to the above ones,
draws ``n_ei_candidates`` from l and keeps the one with the largest l/g. l's kernels may
narrow with the number of results n, not with its own few observations (see
``below_min_bandwidth``), so the search keeps refining the good region. The chosen options
decide which nested groups are sampled next. Suggestions still in flight count as results
of a made-up loss (a constant liar: the worst, mean or best so far); with the worst or the
mean they are "above" observations, so concurrent asks spread out instead of piling up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ...search_space import SearchSpace
from .parzen import ParzenEstimator

#: what a pending suggestion's lie is (NNI's names): the best (smallest), the worst (largest)
#: or the mean loss so far; None ignores pending suggestions
LIAR_TYPES = ("best", "worst", "mean")


def default_gamma(n: int) -> int:
    """How many observations count as "below" (good): ``min(ceil(0.05 n), 25)``.

    Half of Optuna's ``ceil(0.1 n)``: after NNI's 20 start-up trials (Optuna uses 10) the
    model has fewer trials left, and an l built on the best 5% (1 to 5 results in the first
    100) finds and refines the good basin sooner. With l's floor below it lowered the mean
    log regret at 200 trials on 11 of the 12 function-modes of benchmarks/tuner_quality.py
    (docs/tuners.md). Hyperopt's ``0.25 sqrt(n)``, greedier still, was worse on Branin, whose
    three equal minima then spread l's few kernels wide.
    """
    return min(math.ceil(0.05 * n), 25)


def below_min_bandwidth(n: int) -> float:
    """The narrowest kernel of l after ``n`` results: ``1 / min(100, n / 2 + 2)``.

    Optuna's clip, ``1 / min(100, m + 2)`` for m kernels, would hold l's kernels (at most 25)
    at least 1/27 wide for ever, which stops TPE from refining a good region; letting them
    narrow with n lowers the regret at 200 trials everywhere. With gamma at 10% of the
    results, ``n / 2`` made more seeds stay in a local basin of Hartmann6 than ``n / 3``;
    with 5% it measured better than ``n / 3`` and ``n / 2.5`` (docs/tuners.md). g keeps
    Optuna's clip: narrowing it too did worse on the mixed space.
    """
    return 1.0 / min(100.0, n / 2 + 2.0)


def default_weights(n: int) -> np.ndarray:
    """Observation weights, oldest first: the 25 newest weigh 1, older ones ramp down to 1/n."""
    if n < 25:
        return np.ones(n)
    return np.concatenate([np.linspace(1.0 / n, 1.0, n - 25), np.ones(25)])


class TPEOptimizer:
    """Tree-structured Parzen Estimator over ``space`` (every HPO type, nested choices too).

    The first ``n_startup_trials`` suggestions come from a Latin hypercube design (unless as
    many results are in already); after that the model is used with whatever results have
    arrived, so with trials pending the asks beyond the design are not random draws. Losses:
    smaller is better.
    """

    def __init__(
        self,
        space: SearchSpace,
        rng: np.random.Generator,
        *,
        n_startup_trials: int = 20,
        n_ei_candidates: int = 24,
        prior_weight: float = 1.0,
        constant_liar_type: str | None = "worst",
    ) -> None:
        self.constant_liar_type = constant_liar_type
        self.space = space
        self.rng = rng
        self.n_startup_trials = n_startup_trials
        self.n_ei_candidates = n_ei_candidates
        self.prior_weight = prior_weight
        self.n = 0
        self._design = list(space.space_filling_vectors(rng, n_startup_trials))
        cap = 64
        self._x = np.empty((cap, space.n_dims))
        self._active = np.empty((cap, len(space.groups)), dtype=bool)
        self._sorted_loss = np.empty(cap)
        self._order = np.empty(cap, dtype=np.int64)  # observation indices, best first

    def tell(self, vector: np.ndarray, loss: float) -> None:
        if self.n == len(self._x):
            self._grow()
        n = self.n
        self._x[n] = vector
        self._active[n] = self.space.active_groups(vector)
        pos = int(np.searchsorted(self._sorted_loss[:n], loss, side="right"))
        self._sorted_loss[pos + 1 : n + 1] = self._sorted_loss[pos:n].copy()
        self._order[pos + 1 : n + 1] = self._order[pos:n].copy()
        self._sorted_loss[pos] = loss
        self._order[pos] = n
        self.n = n + 1

    def _grow(self) -> None:
        def bigger(a: np.ndarray) -> np.ndarray:
            out = np.empty((2 * len(a), *a.shape[1:]), dtype=a.dtype)
            out[: len(a)] = a
            return out

        self._x, self._active = bigger(self._x), bigger(self._active)
        self._sorted_loss, self._order = bigger(self._sorted_loss), bigger(self._order)

    def ask(self, pending: Sequence[np.ndarray] = ()) -> np.ndarray:
        space = self.space
        if (self.n < self.n_startup_trials and self._design) or self.n == 0:
            return self._design.pop(0) if self._design else space.random_vector(self.rng)
        n = self.n
        below = np.zeros(n, dtype=bool)
        below[self._order[: default_gamma(n)]] = True
        x, active = self._x[:n], self._active[:n]
        if pending and self.constant_liar_type is not None:
            liars = np.array(pending)
            x = np.concatenate([x, liars])
            active = np.concatenate([active, [space.active_groups(v) for v in liars]])
            below = np.concatenate([below, np.full(len(liars), self._liar_is_good())])

        out = np.full(space.n_dims, np.nan)
        todo = [space.groups[0]]
        while todo:
            group = todo.pop()
            if not group.dims.size:
                continue
            rows = active[:, group.id]
            best = self._sample_group(x[:, group.dims], rows & below, rows & ~below, group.dims)
            out[group.dims] = best
            for (dim, option), child in group.children.items():
                if out[dim] == option:
                    todo.append(space.groups[child])
        return out

    def _liar_is_good(self) -> bool:
        """Whether a pending suggestion, given the liar's loss, ranks among the good ones."""
        n, losses = self.n, self._sorted_loss[: self.n]
        lie = {"best": losses[0], "mean": losses.mean(), "worst": losses[-1]}[
            self.constant_liar_type
        ]
        return bool(lie <= losses[default_gamma(n) - 1])

    def _sample_group(
        self, x: np.ndarray, below: np.ndarray, above: np.ndarray, dims: np.ndarray
    ) -> np.ndarray:
        cat, n_choices = self.space.categorical[dims], self.space.n_choices[dims]

        def estimator(rows: np.ndarray, min_bandwidth: float | None = None) -> ParzenEstimator:
            obs = x[rows]
            return ParzenEstimator(
                obs, default_weights(len(obs)), cat, n_choices, self.prior_weight, min_bandwidth
            )

        low, high = estimator(below, below_min_bandwidth(self.n)), estimator(above)
        candidates = low.sample(self.rng, self.n_ei_candidates)
        score = low.log_pdf(candidates) - high.log_pdf(candidates)
        return candidates[int(np.argmax(score))]
