"""The TPE tuner: Tree-structured Parzen Estimator (the algorithm lives in ``_tpe``)."""

from __future__ import annotations

from ._base import ModelBasedTuner
from ._tpe import TPEOptimizer


class TPETuner(ModelBasedTuner):
    """Tree-structured Parzen Estimator over the whole HPO language (nested choices included).

    Class args: ``optimize_mode`` ("maximize" by default, as in NNI), ``seed``,
    ``n_startup_trials`` (space-filling suggestions before the model is used, default 20),
    ``n_ei_candidates`` (draws scored per suggestion, default 24), ``prior_weight`` (1.0).
    Suggestions in flight are taken as bad results until theirs arrive (constant liar), so
    concurrent trials explore different points. A suggestion costs well under a millisecond.
    """

    optimizer_class = TPEOptimizer

    def __init__(
        self,
        optimize_mode: str = "maximize",
        seed: int | None = None,
        n_startup_trials: int = 20,
        n_ei_candidates: int = 24,
        prior_weight: float = 1.0,
    ) -> None:
        super().__init__(
            optimize_mode,
            seed,
            n_startup_trials=n_startup_trials,
            n_ei_candidates=n_ei_candidates,
            prior_weight=prior_weight,
        )
        if n_startup_trials < 0 or n_ei_candidates < 1 or prior_weight <= 0:
            raise ValueError("need n_startup_trials >= 0, n_ei_candidates >= 1, prior_weight > 0")
