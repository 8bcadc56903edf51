"""The GP tuner: Gaussian-process Bayesian optimisation (the algorithm lives in ``_gp``)."""

from __future__ import annotations

from ..search_space import HPO_TYPES
from ._base import ModelBasedTuner
from ._gp import GPOptimizer
from ._gp.optimizer import UTILITIES


class GPTuner(ModelBasedTuner):
    """Gaussian process (Matern 5/2, fitted hyperparameters) with an acquisition function.

    Handles every HPO type except nested choices (a GP needs one fixed set of dimensions);
    choices are one-hot, discrete numeric types are rounded after optimising. Class args,
    NNI's names first: ``optimize_mode`` ("maximize"), ``utility`` (``ei``, ``ucb`` or
    ``poi``), ``kappa`` (5: exploration of ucb), ``xi`` (0: margin of ei and poi), ``nu``
    (2.5: the Matern smoothness; only 2.5 here), ``alpha`` (1e-6: noise added to the
    kernel's diagonal, besides the fitted noise), ``cold_start_num`` (space-filling
    suggestions first, 10; also ``n_startup_trials``), ``selection_num_warm_up`` (points
    scored per suggestion, 2000 here, NNI's default 100000; also ``n_candidates``),
    ``selection_num_starting_points`` (the best of them refined by L-BFGS-B, 1 here, NNI's
    250), ``seed``. Fitting runs in a worker thread, so the event loop never waits for it.
    """

    optimizer_class = GPOptimizer
    supported = HPO_TYPES
    ask_in_thread = True

    def __init__(
        self,
        optimize_mode: str = "maximize",
        utility: str = "ei",
        kappa: float = 5.0,
        xi: float = 0.0,
        nu: float = 2.5,
        alpha: float = 1e-6,
        cold_start_num: int | None = None,
        selection_num_warm_up: int | None = None,
        selection_num_starting_points: int = 1,
        *,
        seed: int | None = None,
        n_startup_trials: int = 10,
        n_candidates: int = 2000,
    ) -> None:
        if utility not in UTILITIES:
            raise ValueError(f"utility must be one of {', '.join(UTILITIES)}, not {utility!r}")
        if nu != 2.5:
            raise ValueError(f"nu: only the Matern 5/2 kernel (nu: 2.5) is implemented, not {nu}")
        if kappa < 0 or alpha < 0:
            raise ValueError("need kappa >= 0 and alpha >= 0")
        startup = n_startup_trials if cold_start_num is None else cold_start_num
        candidates = n_candidates if selection_num_warm_up is None else selection_num_warm_up
        if startup < 1 or candidates < 1 or selection_num_starting_points < 1:
            raise ValueError(
                "need cold_start_num >= 1, selection_num_warm_up >= 1 and "
                "selection_num_starting_points >= 1"
            )
        super().__init__(
            optimize_mode,
            seed,
            n_startup_trials=startup,
            n_candidates=candidates,
            utility=utility,
            kappa=kappa,
            xi=xi,
            alpha=alpha,
            n_refined=selection_num_starting_points,
        )
