"""The GP tuner: Gaussian-process Bayesian optimisation (the algorithm lives in ``_gp``)."""

from __future__ import annotations

from ..search_space import HPO_TYPES
from ._base import ModelBasedTuner
from ._gp import GPOptimizer


class GPTuner(ModelBasedTuner):
    """Gaussian process (Matern 5/2, fitted hyperparameters) with expected improvement.

    Handles every HPO type except nested choices (a GP needs one fixed set of dimensions);
    choices are one-hot, discrete numeric types are rounded after optimising. Class args:
    ``optimize_mode`` ("maximize"), ``seed``, ``n_startup_trials`` (space-filling suggestions
    first, 10), ``n_candidates`` (points scored per suggestion before a local refinement,
    2000). Fitting runs in a worker thread, so the event loop never waits for it.
    """

    optimizer_class = GPOptimizer
    supported = HPO_TYPES
    ask_in_thread = True

    def __init__(
        self,
        optimize_mode: str = "maximize",
        seed: int | None = None,
        n_startup_trials: int = 10,
        n_candidates: int = 2000,
    ) -> None:
        super().__init__(
            optimize_mode, seed, n_startup_trials=n_startup_trials, n_candidates=n_candidates
        )
        if n_startup_trials < 1 or n_candidates < 1:
            raise ValueError("need n_startup_trials >= 1 and n_candidates >= 1")
