"""A multivariate Parzen estimator over one group of encoded dimensions.

Numeric dimensions live in [0, 1] (see asyncnni.search_space). Each observation's kernel is
a product, over dimensions, of Gaussians truncated to [0, 1], whose width in a dimension is
the larger gap to its neighbouring observations (hyperopt's and Optuna's rule), clipped to
``[min_bandwidth, 1]`` (by default ``1 / min(100, m + 2)``); choices get a categorical kernel that puts most of its mass on
the observed option. One more component is the prior: uniform over options, and a wide
Gaussian (mean 0.5, sd 1) over numeric dimensions. The kernels are multivariate (a product
per observation), so the estimator keeps what goes together in good configurations.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr, ndtri

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def default_min_bandwidth(m: int) -> float:
    """The narrowest kernel among ``m`` observations: ``1 / min(100, m + 2)`` (Optuna's clip)."""
    return 1.0 / min(100.0, m + 2.0)


def neighbour_bandwidths(mu: np.ndarray, min_bandwidth: float | None = None) -> np.ndarray:
    """Per dimension (row) and observation (column), the larger distance to a neighbour.

    The bounds 0 and 1 count as neighbours, except that at either end the inner gap is used.
    The result is clipped to ``[min_bandwidth, 1]`` (``default_min_bandwidth(m)`` if None).
    ``mu`` is d x m in [0, 1]; rows are contiguous, so each sort reads one block of memory.
    """
    d, m = mu.shape
    order = np.argsort(mu, axis=1)
    rows = np.arange(d)[:, None]
    ext = np.empty((d, m + 2))
    ext[:, 0], ext[:, -1] = 0.0, 1.0
    ext[:, 1:-1] = mu[rows, order]
    gaps = np.maximum(ext[:, 1:-1] - ext[:, :-2], ext[:, 2:] - ext[:, 1:-1])
    if m >= 2:
        gaps[:, 0], gaps[:, -1] = ext[:, 2] - ext[:, 1], ext[:, -2] - ext[:, -3]
    out = np.empty_like(gaps)
    out[rows, order] = gaps
    if min_bandwidth is None:
        min_bandwidth = default_min_bandwidth(m)
    return np.clip(out, min_bandwidth, 1.0)


def log_mass_inside(mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """log P(0 <= N(mu, sigma) <= 1), elementwise.

    Only kernels within 8 sd of a bound lose measurable mass (< 1e-15 otherwise), and with
    many observations those are few: the normal CDF is evaluated for them alone.
    """
    out = np.zeros_like(mu)
    near = (mu < 8.0 * sigma) | (mu > 1.0 - 8.0 * sigma)
    m, s = mu[near], sigma[near]
    out[near] = np.log(ndtr((1.0 - m) / s) - ndtr(-m / s))
    return out


class ParzenEstimator:
    """The mixture of kernels centred on ``obs`` (an m x d matrix) plus the prior.

    ``categorical`` marks the choice columns, ``n_choices`` their number of options;
    ``weights`` (m,) weigh the observations, ``prior_weight`` the prior component;
    ``min_bandwidth`` floors the numeric kernels' widths (see :func:`neighbour_bandwidths`).
    """

    def __init__(
        self,
        obs: np.ndarray,
        weights: np.ndarray,
        categorical: np.ndarray,
        n_choices: np.ndarray,
        prior_weight: float = 1.0,
        min_bandwidth: float | None = None,
    ) -> None:
        m, d = obs.shape
        self.m, self._d = m, d
        w = np.append(weights, prior_weight)
        self._p = w / w.sum()
        self._log_w = np.log(self._p)
        self._num = np.flatnonzero(~categorical)
        self._cat = np.flatnonzero(categorical)

        # numeric kernels, one row per dimension and one column per kernel, the prior last
        dn = self._num.size
        mu = np.empty((dn, m + 1))
        mu[:, :m], mu[:, m] = obs[:, self._num].T, 0.5
        sigma = np.empty((dn, m + 1))
        sigma[:, :m], sigma[:, m] = neighbour_bandwidths(mu[:, :m], min_bandwidth), 1.0
        self._mu, self._sigma = mu, sigma
        self._inv_var = 1.0 / (sigma * sigma)
        self._mu_inv_var = mu * self._inv_var
        # everything in the log density that does not depend on the point: (m + 1,)
        self._const = (
            -0.5 * (mu * self._mu_inv_var).sum(axis=0)
            - np.log(sigma).sum(axis=0)
            - log_mass_inside(mu, sigma).sum(axis=0)
            - dn * _HALF_LOG_2PI
            + self._log_w
        )

        # categorical kernels (Optuna's): prior_weight / (m + 1) on every option, +1 on the
        # observed one, normalised; the prior row is uniform
        k = n_choices[self._cat].astype(float)
        self._k = k
        base = prior_weight / (m + 1)
        norm = np.log1p(k * base)
        self._obs_cat = np.full((m + 1, k.size), -1.0)
        self._obs_cat[:m] = obs[:, self._cat]
        self._log_hit = np.empty((m + 1, k.size))
        self._log_miss = np.empty((m + 1, k.size))
        self._log_hit[:m], self._log_miss[:m] = np.log1p(base) - norm, math.log(base) - norm
        self._log_hit[m] = self._log_miss[m] = -np.log(k)
        self._keep_p = np.append(np.full(m, 1.0), 0.0)[:, None] / (1.0 + k * base)

    def log_pdf(self, y: np.ndarray) -> np.ndarray:
        """Log density at each row of ``y`` (n x d)."""
        yn = y[:, self._num]
        # sum_d (y - mu)^2 / s^2 expanded, so two matrix products replace an n x m x d array
        log_all = -0.5 * ((yn * yn) @ self._inv_var) + yn @ self._mu_inv_var + self._const
        if self._cat.size:
            eq = y[:, None, self._cat] == self._obs_cat[None, :, :]  # n x (m + 1) x dc
            log_all += np.where(eq, self._log_hit, self._log_miss).sum(axis=2)
        top = log_all.max(axis=1, keepdims=True)
        return (top + np.log(np.exp(log_all - top).sum(axis=1, keepdims=True)))[:, 0]

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` points drawn from the mixture (n x d)."""
        comp = rng.choice(self.m + 1, size=n, p=self._p)
        out = np.empty((n, self._d))
        if self._num.size:
            mu, s = self._mu[:, comp].T, self._sigma[:, comp].T
            lo, hi = ndtr(-mu / s), ndtr((1.0 - mu) / s)
            u = lo + rng.random(mu.shape) * (hi - lo)
            out[:, self._num] = np.clip(mu + s * ndtri(u), 0.0, 1.0)
        if self._cat.size:
            uniform = np.floor(rng.random((n, self._k.size)) * self._k)
            keep = rng.random((n, self._k.size)) < self._keep_p[comp]
            out[:, self._cat] = np.where(keep, self._obs_cat[comp], uniform)
        return out
