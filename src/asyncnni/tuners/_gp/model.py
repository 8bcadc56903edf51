"""A Gaussian process with an ARD Matern-5/2 kernel, hyperparameters fitted by marginal likelihood."""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import cho_factor, cho_solve, solve_triangular
from scipy.optimize import minimize

_SQRT5 = math.sqrt(5.0)
# bounds of the log hyperparameters: length scales, signal variance, noise variance
# (targets are standardised, features lie in [0, 1])
_LOG_LENGTH = (math.log(0.01), math.log(20.0))
_LOG_SIGNAL = (math.log(0.05), math.log(20.0))
_LOG_NOISE = (math.log(1e-6), math.log(0.5))


def _matern(sq: np.ndarray, signal: float) -> tuple[np.ndarray, np.ndarray]:
    """Kernel values and the factor its length-scale derivatives share, from scaled sq. distances."""
    r = np.sqrt(np.maximum(sq, 0.0))
    e = np.exp(-_SQRT5 * r)
    k = signal * (1.0 + _SQRT5 * r + 5.0 / 3.0 * sq) * e
    dk = signal * 5.0 / 3.0 * (1.0 + _SQRT5 * r) * e  # dk/dlog(l_d) = dk * diff_d^2 / l_d^2
    return k, dk


class MaternGP:
    """GP regression on features in [0, 1]^d with standardised targets.

    ``fit(x, y)`` fits the hyperparameters (warm-started from the last fit) unless
    ``refit=False``, in which case only the data change; ``predict(z)`` returns mean and sd.
    ``jitter`` is added to the kernel's diagonal besides the fitted noise (NNI's ``alpha``).
    """

    def __init__(self, dims: int, jitter: float = 1e-9) -> None:
        self.jitter = jitter
        self.theta = np.array([math.log(0.5)] * dims + [0.0, math.log(1e-3)])

    def fit(self, x: np.ndarray, y: np.ndarray, *, refit: bool = True) -> None:
        self._x = x
        self._y_mean, self._y_sd = float(y.mean()), float(y.std()) or 1.0
        self._y = (y - self._y_mean) / self._y_sd
        if refit:
            bounds = [_LOG_LENGTH] * x.shape[1] + [_LOG_SIGNAL, _LOG_NOISE]
            starts = [self.theta, np.array([math.log(0.5)] * x.shape[1] + [0.0, math.log(1e-3)])]
            best = min(
                (
                    minimize(
                        self._nll,
                        s,
                        jac=True,
                        method="L-BFGS-B",
                        bounds=bounds,
                        options={"maxiter": 60},
                    )
                    for s in starts
                ),
                key=lambda r: r.fun,
            )
            self.theta = best.x
        ls = np.exp(self.theta[:-2])
        signal, noise = np.exp(self.theta[-2:])
        self._ls, self._signal = ls, signal
        k, _ = _matern(_scaled_sq(x, x, ls), signal)
        k[np.diag_indices_from(k)] += noise + self.jitter
        self._chol = cho_factor(k, lower=True)
        self._alpha = cho_solve(self._chol, self._y)

    def _nll(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Negative log marginal likelihood and its gradient in the log hyperparameters."""
        x, y = self._x, self._y
        n, d = x.shape
        ls = np.exp(theta[:d])
        signal, noise = math.exp(theta[d]), math.exp(theta[d + 1])
        diff2 = (x[:, None, :] - x[None, :, :]) ** 2 / ls**2  # n x n x d
        k, dk = _matern(diff2.sum(axis=2), signal)
        k[np.diag_indices(n)] += noise + self.jitter
        try:
            chol = cho_factor(k, lower=True)
        except np.linalg.LinAlgError:
            return 1e10, np.zeros_like(theta)
        alpha = cho_solve(chol, y)
        nll = 0.5 * y @ alpha + np.log(np.diag(chol[0])).sum() + 0.5 * n * math.log(2 * math.pi)
        inner = cho_solve(chol, np.eye(n)) - np.outer(alpha, alpha)  # K^-1 - alpha alpha^T
        grad = np.empty_like(theta)
        grad[:d] = 0.5 * np.einsum("ij,ijd->d", inner * dk, diff2)
        grad[d] = 0.5 * np.sum(inner * (k - (noise + self.jitter) * np.eye(n)))
        grad[d + 1] = 0.5 * noise * np.trace(inner)
        return float(nll), grad

    def predict(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation at the rows of ``z``, in target units."""
        ks, _ = _matern(_scaled_sq(z, self._x, self._ls), self._signal)
        mean = ks @ self._alpha
        v = solve_triangular(self._chol[0], ks.T, lower=True)
        var = np.maximum(self._signal - (v * v).sum(axis=0), 1e-12)
        return mean * self._y_sd + self._y_mean, np.sqrt(var) * self._y_sd

    def leave_one_out(self) -> tuple[np.ndarray, np.ndarray]:
        """Each fitted point's mean and sd as predicted from all the others (closed form:
        ``y_i - [K^-1 y]_i / [K^-1]_ii`` and ``1 / [K^-1]_ii``), in target units."""
        inv_diag = np.diag(cho_solve(self._chol, np.eye(len(self._y))))
        mean = self._y - self._alpha / inv_diag
        return mean * self._y_sd + self._y_mean, np.sqrt(1.0 / inv_diag) * self._y_sd


def _scaled_sq(a: np.ndarray, b: np.ndarray, ls: np.ndarray) -> np.ndarray:
    a, b = a / ls, b / ls
    sq = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * a @ b.T
    return np.maximum(sq, 0.0)
