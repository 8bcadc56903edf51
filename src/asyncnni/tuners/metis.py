"""Metis (Li et al., "Metis: Robustly tuning tail latencies of cloud systems", ATC 2018), as
NNI describes its MetisTuner: a Gaussian process that also diagnoses its own data.

Each suggestion, once ``cold_start_num`` results are in, is one of

* a **re-sample**: a result the GP finds implausible given all the others (its value lies
  outside the leave-one-out 95% interval) is an outlier, likely noise; its configuration is
  tried again, once, so the model is not misled by one unlucky run;
* an **exploration** (with probability ``exploration_probability``): where the model is
  least sure, the candidate of largest predicted sd;
* an **exploitation**: the candidate of lowest predicted loss.

Candidates are ``selection_num_starting_points`` points drawn from the prior and around
the best results, then refined by L-BFGS-B. The GP is asyncnni's (Matern 5/2, fitted by
marginal likelihood); NNI's Metis also fits a Gaussian mixture for exploration, which is
left out here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..search_space import HPO_TYPES, SearchSpace
from ._base import ModelBasedTuner
from ._gp.optimizer import GPOptimizer

OUTLIER_Z = 1.96  # |result - leave-one-out mean| beyond this many sds: an outlier


class MetisOptimizer(GPOptimizer):
    def __init__(
        self,
        space: SearchSpace,
        rng: np.random.Generator,
        *,
        n_startup_trials: int,
        n_candidates: int,
        resampling: bool,
        exploration_probability: float,
    ) -> None:
        # "ucb" with kappa 0 scores by the predicted loss alone: what exploitation refines
        super().__init__(
            space,
            rng,
            n_startup_trials=n_startup_trials,
            n_candidates=n_candidates,
            utility="ucb",
            kappa=0.0,
        )
        self.resampling, self.exploration_probability = resampling, exploration_probability
        self._resampled: set[bytes] = set()
        self.last_choice = ""  # "design", "resample", "explore" or "exploit": for tests and logs

    def _ask(self, pending: Sequence[np.ndarray]) -> np.ndarray:
        n = len(self.losses)
        if n < self.n_startup_trials:
            self.last_choice = "design"
            return super()._ask(pending)
        vectors, losses = np.array(self.vectors[:n]), np.array(self.losses[:n])
        refit = n < 50 or n >= 1.1 * self._fitted_at
        self._gp.fit(self.features(vectors), losses, refit=refit)
        if refit:
            self._fitted_at = n
        outlier = self._outlier(vectors, losses, pending) if self.resampling else None
        if outlier is not None:
            self.last_choice = "resample"
            return outlier
        candidates = self._candidates(vectors, losses)
        mean, sd = self._gp.predict(self.features(candidates))
        if self.rng.random() < self.exploration_probability:
            self.last_choice = "explore"
            return candidates[int(np.argmax(sd))]
        self.last_choice = "exploit"
        return self._refine(candidates[int(np.argmin(mean))], float(losses.min()))

    def _outlier(
        self, vectors: np.ndarray, losses: np.ndarray, pending: Sequence[np.ndarray]
    ) -> np.ndarray | None:
        """The worst-fitting result not re-sampled yet (nor in flight), if it is an outlier."""
        mean, sd = self._gp.leave_one_out()
        z = np.abs(losses - mean) / np.maximum(sd, 1e-12)
        running = {v.tobytes() for v in pending}
        for i in np.argsort(-z):
            if z[i] <= OUTLIER_Z:
                return None
            key = vectors[i].tobytes()
            if key not in self._resampled and key not in running:
                self._resampled.add(key)
                return vectors[i].copy()
        return None


class MetisTuner(ModelBasedTuner):
    """NNI's Metis over a flat space of HPO types (no nested choices).

    Class args (NNI's): ``optimize_mode`` ("maximize"), ``no_resampling`` (True, as in NNI:
    outliers are not re-run unless it is false), ``no_candidates`` (False; when True only
    exploitation is used), ``selection_num_starting_points`` (600), ``cold_start_num`` (10),
    ``exploration_probability`` (0.9), and ``seed``.
    """

    optimizer_class = MetisOptimizer
    supported = HPO_TYPES
    ask_in_thread = True

    def __init__(
        self,
        optimize_mode: str = "maximize",
        no_resampling: bool = True,
        no_candidates: bool = False,
        selection_num_starting_points: int = 600,
        cold_start_num: int = 10,
        exploration_probability: float = 0.9,
        seed: int | None = None,
    ) -> None:
        if cold_start_num < 1 or selection_num_starting_points < 1:
            raise ValueError("need cold_start_num >= 1 and selection_num_starting_points >= 1")
        if not 0 <= exploration_probability <= 1:
            raise ValueError(
                f"exploration_probability must be within [0, 1], not {exploration_probability}"
            )
        super().__init__(
            optimize_mode,
            seed,
            n_startup_trials=cold_start_num,
            n_candidates=selection_num_starting_points,
            resampling=not no_resampling,
            exploration_probability=0.0 if no_candidates else exploration_probability,
        )
