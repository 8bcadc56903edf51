"""BOHB's model (Falkner et al. 2018): one pair of kernel density estimators per budget.

Pure: no I/O, no asynchrony. Configurations live in a search space's encoding
(asyncnni.search_space): numeric dimensions in [0, 1], choices as option indices.

For each budget b with at least ``min_points`` results, the ``n_l = max(min_points,
top_n_percent% of N_b)`` best configurations make the density l and the ``n_g =
max(min_points, N_b - n_l)`` worst ones the density g (they overlap while N_b is small,
as in the paper). Each is a product-kernel KDE with the normal-reference bandwidth
``1.06 * sd * N**(-1 / (4 + d))`` per dimension (statsmodels' rule, which the paper's
code uses), clipped below at ``min_bandwidth``: Gaussians truncated to [0, 1] for numeric
dimensions, and the Aitchison-Aitken kernel (keep the option with probability 1 - bw, else
any other alike) for choices. A suggestion comes from the model of the largest budget that
has one: ``num_samples`` draws around good configurations with numeric bandwidths widened by
``bandwidth_factor``, keeping the draw with the largest l / g; a ``random_fraction`` of the
suggestions, and all of them before any model exists, are drawn from the prior.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp, ndtr, ndtri

from ..search_space import SearchSpace
from ._tpe.parzen import log_mass_inside

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


class KDE:
    """A product-kernel density over encoded configurations (rows of ``data``)."""

    def __init__(self, data: np.ndarray, n_choices: np.ndarray, min_bandwidth: float) -> None:
        m, d = data.shape
        self.data = data
        self._num = np.flatnonzero(n_choices == 0)
        self._cat = np.flatnonzero(n_choices > 0)
        self._k = n_choices[self._cat].astype(float)
        bw = 1.06 * data.std(axis=0) * m ** (-1.0 / (4 + d))
        bw = np.maximum(bw, min_bandwidth)
        # a choice's bandwidth is the chance to leave the observed option: at most (k - 1) / k
        bw[self._cat] = np.minimum(bw[self._cat], (self._k - 1) / np.maximum(self._k, 1))
        self.bandwidth = bw

    def log_pdf(self, y: np.ndarray) -> np.ndarray:
        """Log density at each row of ``y`` (n x d)."""
        mu, x = self.data[:, self._num], y[:, self._num]
        s = self.bandwidth[self._num]
        z = (x[:, None, :] - mu[None, :, :]) / s  # n x m x dn
        log_k = -0.5 * z * z - np.log(s) - _HALF_LOG_2PI
        log_k -= log_mass_inside(mu, np.broadcast_to(s, mu.shape))[None]
        total = log_k.sum(axis=2)
        if self._cat.size:
            lam = self.bandwidth[self._cat]
            same = y[:, None, self._cat] == self.data[None, :, self._cat]
            other = lam / np.maximum(self._k - 1, 1)
            total += np.where(same, np.log1p(-lam), np.log(np.maximum(other, 1e-300))).sum(axis=2)
        return logsumexp(total, axis=1) - math.log(len(self.data))

    def sample(self, rng: np.random.Generator, n: int, widen: float) -> np.ndarray:
        """``n`` draws around random rows, every numeric bandwidth multiplied by ``widen``."""
        rows = self.data[rng.integers(len(self.data), size=n)]
        out = rows.copy()
        if self._num.size:
            mu = rows[:, self._num]
            s = np.minimum(self.bandwidth[self._num] * widen, 1.0)
            lo, hi = ndtr(-mu / s), ndtr((1.0 - mu) / s)
            u = lo + rng.random(mu.shape) * (hi - lo)
            out[:, self._num] = np.clip(mu + s * ndtri(u), 0.0, 1.0)
        if self._cat.size:
            move = rng.random((n, self._cat.size)) < self.bandwidth[self._cat]
            uniform = np.floor(rng.random((n, self._cat.size)) * self._k)
            out[:, self._cat] = np.where(move, uniform, rows[:, self._cat])
        return out


class BudgetModels:
    """The observations of each budget and the l / g model of the largest one that has enough.

    Losses: smaller is better; a failed run counts as the worst (``inf``), as in the paper.
    """

    def __init__(
        self,
        space: SearchSpace,
        rng: np.random.Generator,
        *,
        min_points: int,
        top_n_percent: float,
        num_samples: int,
        random_fraction: float,
        bandwidth_factor: float,
        min_bandwidth: float,
    ) -> None:
        self.space, self.rng = space, rng
        self.min_points, self.top_n_percent = min_points, top_n_percent
        self.num_samples, self.random_fraction = num_samples, random_fraction
        self.bandwidth_factor, self.min_bandwidth = bandwidth_factor, min_bandwidth
        self.observations: dict[float, tuple[list[np.ndarray], list[float]]] = {}

    def tell(self, vector: np.ndarray, budget: float, loss: float | None) -> None:
        vectors, losses = self.observations.setdefault(budget, ([], []))
        vectors.append(vector)
        losses.append(math.inf if loss is None else loss)

    def model_budget(self) -> float | None:
        """The largest budget with at least ``min_points`` results, or None: no model yet."""
        ready = [b for b, (v, _) in self.observations.items() if len(v) >= self.min_points]
        return max(ready) if ready else None

    def split(self, budget: float) -> tuple[np.ndarray, np.ndarray]:
        """The good and the bad configurations at ``budget`` (rows), best first."""
        vectors, losses = self.observations[budget]
        n = len(losses)
        order = np.argsort(np.array(losses), kind="stable")
        x = np.array(vectors)[order]
        n_good = max(self.min_points, int(self.top_n_percent * n // 100))
        n_bad = max(self.min_points, n - n_good)
        return x[:n_good], x[n - n_bad :]

    def ask(self) -> tuple[np.ndarray, float | None]:
        """A vector to try, and the budget whose model chose it (None: drawn from the prior)."""
        budget = self.model_budget()
        if budget is None or self.rng.random() < self.random_fraction:
            return self.space.random_vector(self.rng), None
        good, bad = self.split(budget)
        n_choices = self.space.n_choices
        low = KDE(good, n_choices, self.min_bandwidth)
        high = KDE(bad, n_choices, self.min_bandwidth)
        candidates = low.sample(self.rng, self.num_samples, self.bandwidth_factor)
        score = low.log_pdf(candidates) - high.log_pdf(candidates)
        return candidates[int(np.argmax(score))], budget
