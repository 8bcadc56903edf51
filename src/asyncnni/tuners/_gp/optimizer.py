"""GP Bayesian optimisation as a pure ask/tell optimiser: expected improvement over a GP.

Features: a numeric dimension is its unit value ``u``; a choice is one-hot. The model is
refitted (hyperparameters included) while there are few results and then whenever their
number has grown by a tenth, so that a suggestion stays cheap late in a long experiment.
Suggestions in flight enter the model as results equal to the worst so far (constant liar).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize
from scipy.special import ndtr
from threadpoolctl import threadpool_limits

from ...search_space import SearchSpace
from .._base import History
from .model import MaternGP

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def expected_improvement(mean: np.ndarray, sd: np.ndarray, best: float) -> np.ndarray:
    """EI of a loss below ``best`` (minimisation)."""
    z = (best - mean) / sd
    return (best - mean) * ndtr(z) + sd * _INV_SQRT_2PI * np.exp(-0.5 * z * z)


class GPOptimizer(History):
    """GP-EI over a space without nested choices (the tuner checks that)."""

    def __init__(
        self,
        space: SearchSpace,
        rng: np.random.Generator,
        *,
        n_startup_trials: int = 10,
        n_candidates: int = 2000,
    ) -> None:
        super().__init__()
        self.space, self.rng = space, rng
        self.n_startup_trials, self.n_candidates = n_startup_trials, n_candidates
        self._numeric = np.flatnonzero(~space.categorical)
        self._cats = [(int(d), int(space.n_choices[d])) for d in np.flatnonzero(space.categorical)]
        self._design = list(space.space_filling_vectors(rng, n_startup_trials))
        self._gp = MaternGP(self._numeric.size + sum(k for _, k in self._cats))
        self._fitted_at = 0

    def features(self, vectors: np.ndarray) -> np.ndarray:
        """The GP's inputs for rows of encoded vectors."""
        parts = [vectors[:, self._numeric]]
        for dim, k in self._cats:
            parts.append(np.eye(k)[vectors[:, dim].astype(np.int64)])
        return np.concatenate(parts, axis=1)

    def ask(self, pending: Sequence[np.ndarray] = ()) -> np.ndarray:
        # one BLAS thread: the matrices are small, BLAS workers only spin, and on a busy
        # 2-core machine they made each suggestion several times slower
        with threadpool_limits(1):
            return self._ask(pending)

    def _ask(self, pending: Sequence[np.ndarray]) -> np.ndarray:
        n = len(self.losses)  # snapshot: results may arrive while a thread runs this
        if n < self.n_startup_trials:
            return self._design.pop(0) if self._design else self.space.random_vector(self.rng)
        vectors, losses = np.array(self.vectors[:n]), np.array(self.losses[:n])
        best = float(losses.min())
        if pending:
            vectors = np.concatenate([vectors, np.array(pending)])
            losses = np.concatenate([losses, np.full(len(pending), losses.max())])
        refit = n < 50 or n >= 1.1 * self._fitted_at
        self._gp.fit(self.features(vectors), losses, refit=refit)
        if refit:
            self._fitted_at = n

        candidates = self._candidates(np.array(self.vectors[:n]), losses[:n])
        ei = expected_improvement(*self._gp.predict(self.features(candidates)), best)
        return self._refine(candidates[int(np.argmax(ei))], best)

    def _candidates(self, vectors: np.ndarray, losses: np.ndarray) -> np.ndarray:
        """Prior draws, plus Gaussian moves around the five best results."""
        half = self.n_candidates // 2
        out = self.space.random_vectors(self.rng, self.n_candidates)
        top = vectors[np.argsort(losses)[:5]]
        near = top[self.rng.integers(len(top), size=half)]
        step = self.rng.normal(0.0, 0.05, size=(half, self._numeric.size))
        near[:, self._numeric] = np.clip(near[:, self._numeric] + step, 0.0, 1.0)
        out[:half] = near
        return out

    def _refine(self, start: np.ndarray, best: float) -> np.ndarray:
        """Local L-BFGS-B on the numeric dimensions, choices held fixed."""
        if not self._numeric.size:
            return start
        base = start.copy()

        def neg_ei(u: np.ndarray) -> float:
            base[self._numeric] = u
            mean, sd = self._gp.predict(self.features(base[None, :]))
            return -float(expected_improvement(mean, sd, best)[0])

        x0 = start[self._numeric]
        res = minimize(
            neg_ei, x0, method="L-BFGS-B", bounds=[(0.0, 1.0)] * x0.size, options={"maxiter": 30}
        )
        out = start.copy()
        if res.fun <= neg_ei(x0):
            out[self._numeric] = res.x
        return out
