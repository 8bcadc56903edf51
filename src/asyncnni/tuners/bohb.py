"""BOHB (Falkner et al. 2018): Hyperband's brackets, new configurations from a KDE per budget."""

from __future__ import annotations

import logging
from typing import Any

from ..search_space import HPO_TYPES, SearchSpace
from ._bohb_model import BudgetModels
from ._successive_halving import BUDGET_KEY, Budget, Job
from .hyperband import BracketTuner

log = logging.getLogger(__name__)


class BOHBTuner(BracketTuner):
    """BOHB with NNI's class args and defaults, over every HPO type except nested choices.

    Class args: ``optimize_mode`` ("maximize"), ``min_budget`` (1), ``max_budget`` (3),
    ``eta`` (3), ``min_points_in_model`` (None: number of parameters + 1, never fewer),
    ``top_n_percent`` (15), ``num_samples`` (64), ``random_fraction`` (1/3),
    ``bandwidth_factor`` (3), ``min_bandwidth`` (1e-3), and asyncnni's ``exec_mode``
    ("parallelism": the next bracket opens when nothing else is ready, as the paper's
    parallel BOHB does; "serial": one bracket at a time as NNI, which needs
    ``async_dispatcher: true``) and ``seed``. NNI's ``config_space`` (a ConfigSpace file) is
    refused: give the search space. The model of a budget is used once that budget has
    ``min_points_in_model`` results (failed runs count, as the worst); the model of the
    largest such budget suggests. ``import_data`` records feed the model of their
    ``TRIAL_BUDGET`` (``max_budget`` when they have none).
    """

    supported = HPO_TYPES

    def __init__(
        self,
        optimize_mode: str = "maximize",
        min_budget: float = 1,
        max_budget: float = 3,
        eta: float = 3,
        min_points_in_model: int | None = None,
        top_n_percent: float = 15,
        num_samples: int = 64,
        random_fraction: float = 1 / 3,
        bandwidth_factor: float = 3,
        min_bandwidth: float = 1e-3,
        config_space: str | None = None,
        exec_mode: str = "parallelism",
        seed: int | None = None,
    ) -> None:
        if config_space is not None:
            raise ValueError(
                "config_space (a ConfigSpace file) is not supported; give the search space"
            )
        if min_points_in_model is not None and min_points_in_model < 1:
            raise ValueError(f"min_points_in_model must be at least 1, got {min_points_in_model!r}")
        if not 0 < top_n_percent < 100 or num_samples < 1 or not 0 <= random_fraction <= 1:
            raise ValueError(
                "need 0 < top_n_percent < 100, num_samples >= 1, 0 <= random_fraction <= 1"
            )
        if bandwidth_factor <= 0 or min_bandwidth <= 0:
            raise ValueError("need bandwidth_factor > 0 and min_bandwidth > 0")
        super().__init__(
            optimize_mode,
            seed,
            max_budget=max_budget,
            min_budget=min_budget,
            eta=eta,
            exec_mode=exec_mode,
        )
        self.min_points_in_model = min_points_in_model
        self._model_options = {
            "top_n_percent": top_n_percent,
            "num_samples": num_samples,
            "random_fraction": random_fraction,
            "bandwidth_factor": bandwidth_factor,
            "min_bandwidth": min_bandwidth,
        }
        self._models: BudgetModels | None = None
        #: for each newly drawn configuration's parameter id, the budget whose model chose it
        #: (None: drawn from the prior)
        self.model_used: dict[int, float | None] = {}

    def _on_search_space(self, space: SearchSpace) -> None:
        super()._on_search_space(space)
        floor = space.n_dims + 1
        min_points = self.min_points_in_model or floor
        if min_points < floor:
            log.warning(
                "BOHB: min_points_in_model %d is below the number of parameters + 1; using %d",
                min_points,
                floor,
            )
            min_points = floor
        self._models = BudgetModels(space, self.rng, min_points=min_points, **self._model_options)
        self.model_used.clear()

    @property
    def models(self) -> BudgetModels:
        if self._models is None:
            raise RuntimeError("BOHBTuner: update_search_space was not called")
        return self._models

    def _sample(self, parameter_id: int, budget: Budget) -> dict[str, Any]:
        vector, self.model_used[parameter_id] = self.models.ask()
        return self.space.decode(vector)

    def _observe(self, job: Job, loss: float | None) -> None:
        assert job.config is not None
        self.models.tell(self.space.encode(job.config), job.budget, loss)

    async def import_data(self, data: list[dict]) -> None:
        for params, vector, loss in self.imported(data):
            self.models.tell(vector, params.get(BUDGET_KEY, self.max_budget), loss)
