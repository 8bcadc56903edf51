"""GP Bayesian optimisation as a pure ask/tell optimiser: expected improvement over a GP.

Features: a numeric dimension is its unit value ``u``; a choice is one-hot. The model is
refitted (hyperparameters included) while there are few results and then whenever their
number has grown by a tenth, so that a suggestion stays cheap late in a long experiment.
Suggestions in flight enter the model as results equal to its own prediction there, but no
better than the best result (a kriging believer that never believes in an improvement): the
hyperparameters are fitted on real results alone, and the believed points shrink the
model's uncertainty where a suggestion is already running, so expected improvement looks
elsewhere without a made-up result bending the fitted mean.
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


def expected_improvement(
    mean: np.ndarray, sd: np.ndarray, best: float, xi: float = 0.0
) -> np.ndarray:
    """EI of a loss below ``best - xi`` (minimisation)."""
    gain = best - xi - mean
    z = gain / sd
    return gain * ndtr(z) + sd * _INV_SQRT_2PI * np.exp(-0.5 * z * z)


def acquisition(
    utility: str, mean: np.ndarray, sd: np.ndarray, best: float, kappa: float, xi: float
) -> np.ndarray:
    """NNI's GP utilities for a loss (larger is more promising): ``ei`` (expected
    improvement), ``poi`` (probability of improvement) by more than ``xi``, or ``ucb``
    (the lower confidence bound ``mean - kappa * sd``, negated)."""
    if utility == "ei":
        return expected_improvement(mean, sd, best, xi)
    if utility == "poi":
        return ndtr((best - xi - mean) / sd)
    return kappa * sd - mean


UTILITIES = ("ei", "ucb", "poi")


class GPOptimizer(History):
    """GP-EI over a space without nested choices (the tuner checks that)."""

    def __init__(
        self,
        space: SearchSpace,
        rng: np.random.Generator,
        *,
        n_startup_trials: int = 10,
        n_candidates: int = 2000,
        utility: str = "ei",
        kappa: float = 5.0,
        xi: float = 0.0,
        alpha: float = 1e-9,
        n_refined: int = 1,
    ) -> None:
        super().__init__()
        self.space, self.rng = space, rng
        self.n_startup_trials, self.n_candidates = n_startup_trials, n_candidates
        self.utility, self.kappa, self.xi, self.n_refined = utility, kappa, xi, n_refined
        self._numeric = np.flatnonzero(~space.categorical)
        self._cats = [(int(d), int(space.n_choices[d])) for d in np.flatnonzero(space.categorical)]
        self._design = list(space.space_filling_vectors(rng, n_startup_trials))
        self._gp = MaternGP(self._numeric.size + sum(k for _, k in self._cats), jitter=alpha)
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
        refit = n < 50 or n >= 1.1 * self._fitted_at
        features = self.features(vectors)
        self._gp.fit(features, losses, refit=refit)
        if refit:
            self._fitted_at = n
        if pending:
            in_flight = self.features(np.array(pending))
            believed, _ = self._gp.predict(in_flight)
            self._gp.fit(
                np.concatenate([features, in_flight]),
                np.concatenate([losses, np.maximum(believed, best)]),
                refit=False,
            )

        candidates = self._candidates(vectors, losses)
        score = self._score(candidates, best)
        starts = candidates[np.argsort(-score, kind="stable")[: self.n_refined]]
        refined = np.array([self._refine(start, best) for start in starts])
        return refined[int(np.argmax(self._score(refined, best)))]

    def _score(self, vectors: np.ndarray, best: float) -> np.ndarray:
        mean, sd = self._gp.predict(self.features(vectors))
        return acquisition(self.utility, mean, sd, best, self.kappa, self.xi)

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

        def negative_score(u: np.ndarray) -> float:
            base[self._numeric] = u
            return -float(self._score(base[None, :], best)[0])

        x0 = start[self._numeric]
        res = minimize(
            negative_score,
            x0,
            method="L-BFGS-B",
            bounds=[(0.0, 1.0)] * x0.size,
            options={"maxiter": 30},
        )
        out = start.copy()
        if res.fun <= negative_score(x0):
            out[self._numeric] = res.x
        return out
