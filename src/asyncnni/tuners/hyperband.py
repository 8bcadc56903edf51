"""Hyperband (Li et al. 2017) with NNI's brackets: random configurations, successive halving.

Every parameter set carries ``TRIAL_BUDGET`` (NNI's key): how long to train it, in the
trial's own unit (epochs, steps, ...). A promoted configuration is handed out again, as a new
parameter set, with the larger budget; the trial trains it for that budget. Its result is
its final result, or the intermediate result it reported at step ``TRIAL_BUDGET`` (one
report a budget unit) when that comes first.
"""

from __future__ import annotations

import logging
from typing import Any

from ..search_space import SearchSpace
from ._base import ALL_HPO, BuiltinTuner
from ._successive_halving import BUDGET_KEY, Budget, Job, Schedule, at_budget

log = logging.getLogger(__name__)

EXEC_MODES = ("parallelism", "serial")


def check_eta_and_mode(eta: float, exec_mode: str) -> None:
    if not eta > 1:
        raise ValueError(f"eta must be greater than 1, got {eta!r}")
    if exec_mode not in EXEC_MODES:
        raise ValueError(f"exec_mode must be 'parallelism' or 'serial', not {exec_mode!r}")


class BracketTuner(BuiltinTuner):
    """The async shell of a :class:`Schedule`, shared by Hyperband and BOHB.

    Subclasses set ``self._budgets`` (``max_budget``, ``min_budget``, ``eta``) and may
    override ``_sample`` (a new configuration for a budget) and ``_observe`` (a result).
    In ``exec_mode: serial`` a request that finds nothing ready waits for a running
    configuration to end, which needs the asynchronous dispatcher mode.
    """

    def __init__(
        self,
        optimize_mode: str,
        seed: int | None,
        *,
        max_budget: float,
        min_budget: float,
        eta: float,
        exec_mode: str,
    ) -> None:
        super().__init__(optimize_mode, seed)
        check_eta_and_mode(eta, exec_mode)
        if not 0 < min_budget <= max_budget:
            raise ValueError(
                f"need 0 < min_budget <= max_budget, got {min_budget!r}, {max_budget!r}"
            )
        self.max_budget, self.min_budget, self.eta = max_budget, min_budget, eta
        self.exec_mode = exec_mode
        self._schedule: Schedule | None = None
        self._job_of: dict[int, str | None] = {}  # parameter id -> the trial job running it

    reserved = (BUDGET_KEY,)

    def _on_search_space(self, space: SearchSpace) -> None:
        self._schedule = Schedule(
            max_budget=self.max_budget,
            min_budget=self.min_budget,
            eta=self.eta,
            parallel=self.exec_mode == "parallelism",
            sample=self._sample,
        )
        self._job_of.clear()

    @property
    def schedule(self) -> Schedule:
        if self._schedule is None:
            raise RuntimeError(f"{type(self).__name__}: update_search_space was not called")
        return self._schedule

    def _sample(self, parameter_id: int, budget: Budget) -> dict[str, Any]:
        return self.space.sample(self.rng)

    def _observe(self, job: Job, loss: float | None) -> None:
        """Hook: ``job`` ended with ``loss`` (None: failed)."""

    async def generate_parameters(self, parameter_id: int, **info: Any) -> dict:
        schedule = self.schedule
        asking = info.get("trial_job_id")
        while (job := schedule.next(parameter_id)) is None:
            self._fail_unreported(asking)
            if (job := schedule.next(parameter_id)) is not None:
                break
            await self.wait_for_result(min(schedule.running))  # the oldest running
        self._job_of[parameter_id] = asking
        assert job.config is not None
        return {**job.config, BUDGET_KEY: job.budget}

    def _fail_unreported(self, asking: str | None) -> None:
        """The asking job's configurations without a result can never report now (a result
        belongs to a job's last configuration): they failed, and nobody may wait for them."""
        for pid in list(self.schedule.running):
            if asking is not None and self._job_of.get(pid) == asking:
                self._finish(pid, None)

    def _finish(self, parameter_id: int, loss: float | None) -> None:
        job = self.schedule.finish(parameter_id, loss)
        self._job_of.pop(parameter_id, None)
        if job is not None:
            self._observe(job, loss)

    async def receive_trial_result(
        self, parameter_id: int, parameters: dict, value: float, **info: Any
    ) -> None:
        self._finish(parameter_id, self.loss(value))  # ignored after the value at its budget

    async def receive_intermediate_result(
        self, parameter_id: int, parameters: dict, value: float, **info: Any
    ) -> None:
        job = self.schedule.running.get(parameter_id)
        if job is not None and at_budget(info.get("sequence"), job.budget):
            self._finish(parameter_id, self.loss(value))

    async def trial_end(self, parameter_id: int, success: bool, **info: Any) -> None:
        if not success:
            self._finish(parameter_id, None)


class HyperbandTuner(BracketTuner):
    """Hyperband as NNI's advisor of that name, over every HPO type (nested choices too).

    Class args: ``optimize_mode`` ("maximize"), ``R`` (60: the largest budget),
    ``eta`` (3: each round keeps the best 1/eta), ``exec_mode`` ("parallelism": open the next
    bracket when nothing else is ready; "serial": one bracket at a time, which needs
    ``async_dispatcher: true``), ``seed``. Brackets repeat for ever: ``max_trial_number``
    ends the run. Warm starts (``import_data``) are ignored, as in NNI.
    """

    supported = ALL_HPO

    def __init__(
        self,
        optimize_mode: str = "maximize",
        R: float = 60,  # noqa: N803 - NNI's name
        eta: float = 3,
        exec_mode: str = "parallelism",
        seed: int | None = None,
    ) -> None:
        if not R >= 1:
            raise ValueError(f"R must be at least 1 (the smallest budget is 1), got {R!r}")
        super().__init__(
            optimize_mode, seed, max_budget=R, min_budget=1, eta=eta, exec_mode=exec_mode
        )

    async def import_data(self, data: list[dict]) -> None:
        log.info("Hyperband ignores import_data (%d records): its brackets start afresh", len(data))
