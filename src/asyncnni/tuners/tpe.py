"""The TPE tuner: Tree-structured Parzen Estimator (the algorithm lives in ``_tpe``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ._base import ModelBasedTuner
from ._tpe import TPEOptimizer

log = logging.getLogger(__name__)

# NNI's TpeArguments -> ours; linear_forgetting and gamma shape NNI's own estimator
_TPE_ARGS = {
    "n_startup_jobs": "n_startup_trials",
    "n_ei_candidates": "n_ei_candidates",
    "prior_weight": "prior_weight",
}
_UNUSED_TPE_ARGS = ("linear_forgetting", "gamma")
# NNI's legacy (hyperopt) liars -> NNI 3.0's names
_HYPEROPT_LIARS = {"min": "best", "max": "worst", "mean": "mean"}
LIARS = ("best", "worst", "mean")


def constant_liar(
    tpe_liar: Any, parallel_optimize: bool | None, hyperopt_liar: str | None
) -> str | None:
    """NNI's two ways to name the pending-trial strategy, as one of LIARS or None.

    NNI 3.0's TPE takes ``tpe_args.constant_liar_type`` (best, worst, mean or null); its
    legacy hyperopt tuners (TPE_legacy, Anneal) take ``parallel_optimize`` and
    ``constant_liar_type`` (min, max, mean)."""
    if hyperopt_liar is not None or parallel_optimize is not None:
        if hyperopt_liar is not None and hyperopt_liar not in _HYPEROPT_LIARS:
            raise ValueError(f"constant_liar_type must be min, max or mean, not {hyperopt_liar!r}")
        return _HYPEROPT_LIARS[hyperopt_liar or "min"] if parallel_optimize else None
    if tpe_liar is not None and tpe_liar not in LIARS:
        raise ValueError(
            f"tpe_args.constant_liar_type must be best, worst, mean or null, not {tpe_liar!r}"
        )
    return tpe_liar


class TPETuner(ModelBasedTuner):
    """Tree-structured Parzen Estimator over the whole HPO language (nested choices included).

    Class args: ``optimize_mode`` ("minimize" by default, as NNI's TPE), ``seed``,
    ``n_startup_trials`` (space-filling suggestions before the model is used, default 20),
    ``n_ei_candidates`` (draws scored per suggestion, default 24), ``prior_weight`` (1.0).
    NNI's forms are accepted too: ``tpe_args: {n_startup_jobs, n_ei_candidates,
    prior_weight, constant_liar_type, linear_forgetting, gamma}``, and the legacy
    ``parallel_optimize`` / ``constant_liar_type`` (min, max, mean). Suggestions in flight
    count as results of the worst loss so far until theirs arrive (``tpe_args:
    {constant_liar_type: worst}``, the default; ``mean`` works alike, ``best`` piles trials
    up around the pending ones, null ignores them), so concurrent trials explore different
    points. A suggestion costs well under a millisecond.
    """

    optimizer_class = TPEOptimizer

    def __init__(
        self,
        optimize_mode: str = "minimize",
        seed: int | None = None,
        tpe_args: Mapping[str, Any] | None = None,
        *,
        n_startup_trials: int = 20,
        n_ei_candidates: int = 24,
        prior_weight: float = 1.0,
        parallel_optimize: bool | None = None,
        constant_liar_type: str | None = None,
    ) -> None:
        options = {
            "n_startup_trials": n_startup_trials,
            "n_ei_candidates": n_ei_candidates,
            "prior_weight": prior_weight,
        }
        nni_args = dict(tpe_args or {})
        unknown = set(nni_args) - {*_TPE_ARGS, *_UNUSED_TPE_ARGS, "constant_liar_type"}
        if unknown:
            raise ValueError(
                f"unknown tpe_args {sorted(unknown)}; NNI's are {sorted(_TPE_ARGS)}, "
                "constant_liar_type, linear_forgetting and gamma"
            )
        for nni_name, ours in _TPE_ARGS.items():
            if nni_name in nni_args:
                options[ours] = nni_args[nni_name]
        for name in _UNUSED_TPE_ARGS:
            if name in nni_args:
                log.warning("TPE: tpe_args.%s is NNI's own estimator's and is not used here", name)
        # "worst", not NNI 3.0's "best": with 8 trials pending, "best" piles suggestions up
        # around the pending ones and measured far worse (docs/tuners.md)
        self.constant_liar_type = constant_liar(
            nni_args.get("constant_liar_type", "worst"), parallel_optimize, constant_liar_type
        )
        options["constant_liar_type"] = self.constant_liar_type
        super().__init__(optimize_mode, seed, **options)
        if (
            options["n_startup_trials"] < 0
            or options["n_ei_candidates"] < 1
            or options["prior_weight"] <= 0
        ):
            raise ValueError("need n_startup_trials >= 0, n_ei_candidates >= 1, prior_weight > 0")
