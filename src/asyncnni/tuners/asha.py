"""ASHA: asynchronous successive halving (Li et al. 2020), and its checkpoint-resuming variant.

Rungs are the budgets ``min_budget * eta**k`` up to ``max_budget`` (the budgets of
Hyperband's most aggressive bracket). A request never waits: it promotes a configuration
of the highest rung that has one to promote, one of the best ``floor(n / eta)`` of the ``n``
results of its rung that was not promoted yet, to the next rung; when no rung has one, it
starts a new configuration at the smallest budget. So every worker is always busy.

With ``resume: true`` a promoted configuration continues from its checkpoint instead of
training again from scratch: every parameter set carries ``checkpoint_dir`` (where the trial
saves, one folder per configuration under ``save_dir_root`` or ``<shared storage>/asha``) and
``resume_from`` (the same folder for a promotion, None for a new configuration), and in a
multi-phase experiment a job that asks again continues its own configuration when that one
is promotable, so the model may still be in memory.

A parameter set's result is its final result, or the intermediate result it reported at
step ``TRIAL_BUDGET`` (one report a budget unit) when that comes first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import PluginError
from ..search_space import SearchSpace
from ._base import ALL_HPO, BuiltinTuner
from ._successive_halving import BUDGET_KEY, Budget, at_budget, rung_budgets

CHECKPOINT_KEY, RESUME_KEY = "checkpoint_dir", "resume_from"


@dataclass(frozen=True)
class Step:
    """What one parameter set runs: configuration ``config_id`` at rung ``rung``."""

    config_id: int
    rung: int
    promoted: bool


class Rungs:
    """The pure bookkeeping of ASHA: results per rung, and who is promoted next."""

    def __init__(self, budgets: list[Budget], eta: float) -> None:
        self.budgets, self.eta = budgets, eta
        self.results: list[dict[int, float]] = [{} for _ in budgets]  # rung -> config -> loss
        self.promoted: list[set[int]] = [set() for _ in budgets]
        self.running: dict[int, Step] = {}  # parameter id -> step
        self.n_configs = 0

    @property
    def top(self) -> int:
        return len(self.budgets) - 1

    def promotable(self, rung: int) -> list[int]:
        """Configurations of ``rung`` in its best ``floor(n / eta)`` not promoted yet, best first."""
        ranked = sorted(self.results[rung].items(), key=lambda kv: (kv[1], kv[0]))
        best = ranked[: math.floor(len(ranked) / self.eta + 1e-9)]
        return [cid for cid, _ in best if cid not in self.promoted[rung]]

    def next(self, parameter_id: int, prefer: int | None = None) -> Step:
        """The step ``parameter_id`` runs: ``prefer``'s promotion when it has one, else the
        best promotion of the highest rung that has one, else a new configuration."""
        step = self._promotion(prefer) if prefer is not None else None
        for rung in range(self.top - 1, -1, -1):
            if step is None and (candidates := self.promotable(rung)):
                step = Step(candidates[0], rung + 1, True)
        if step is None:
            step = Step(self.n_configs, 0, False)
            self.n_configs += 1
        if step.promoted:
            self.promoted[step.rung - 1].add(step.config_id)
        self.running[parameter_id] = step
        return step

    def _promotion(self, config_id: int) -> Step | None:
        rung = self.rung_of(config_id)
        if rung is not None and rung < self.top and config_id in self.promotable(rung):
            return Step(config_id, rung + 1, True)
        return None

    def rung_of(self, config_id: int) -> int | None:
        """The highest rung where ``config_id`` has a result."""
        for rung in range(self.top, -1, -1):
            if config_id in self.results[rung]:
                return rung
        return None

    def finish(self, parameter_id: int, loss: float | None) -> Step | None:
        """``parameter_id`` ended with ``loss`` (None: failed, it joins no rung)."""
        step = self.running.pop(parameter_id, None)
        if step is not None and loss is not None:
            self.results[step.rung][step.config_id] = loss
        return step


class ASHATuner(BuiltinTuner):
    """Asynchronous successive halving over every HPO type (nested choices too).

    Class args: ``optimize_mode`` ("maximize"), ``min_budget`` (1), ``max_budget`` (81),
    ``eta`` (3), ``resume`` (False: a promotion trains again from scratch at the larger
    ``TRIAL_BUDGET``; True: it continues from its checkpoint, see the module docstring),
    ``save_dir_root`` (checkpoint folders; default ``<shared storage>/asha``), ``seed``.
    Never waits and never raises NoMoreTrials: ``max_trial_number`` ends the run.
    """

    supported = ALL_HPO

    def __init__(
        self,
        optimize_mode: str = "maximize",
        min_budget: float = 1,
        max_budget: float = 81,
        eta: float = 3,
        resume: bool = False,
        save_dir_root: str | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(optimize_mode, seed)
        if not eta > 1 or not 0 < min_budget <= max_budget:
            raise ValueError(
                f"need eta > 1 and 0 < min_budget <= max_budget, got eta={eta!r}, "
                f"min_budget={min_budget!r}, max_budget={max_budget!r}"
            )
        integral = float(min_budget).is_integer() and float(max_budget).is_integer()
        self.budgets = rung_budgets(min_budget, max_budget, eta, integral)
        self.eta, self.resume = eta, bool(resume)
        self.reserved = (BUDGET_KEY, CHECKPOINT_KEY, RESUME_KEY) if self.resume else (BUDGET_KEY,)
        self._root = Path(save_dir_root) if save_dir_root else None
        self._rungs: Rungs | None = None
        self._configs: list[dict[str, Any]] = []
        self._folders: list[Path] = []
        self._last_of_job: dict[str, int] = {}  # trial job -> its last configuration

    def _on_search_space(self, space: SearchSpace) -> None:
        if self.resume and self._root is None:
            if self.shared_dir is None:
                raise PluginError(
                    "tuner ASHA with resume: true needs a folder for checkpoints: configure "
                    "shared_storage or give save_dir_root"
                )
            self._root = Path(self.shared_dir) / "asha"
        self._rungs = Rungs(self.budgets, self.eta)
        self._configs.clear()
        self._folders.clear()
        self._last_of_job.clear()

    @property
    def rungs(self) -> Rungs:
        if self._rungs is None:
            raise RuntimeError("ASHATuner: update_search_space was not called")
        return self._rungs

    async def generate_parameters(self, parameter_id: int, **info: Any) -> dict:
        job = info.get("trial_job_id")
        prefer = self._last_of_job.get(job) if self.resume and job is not None else None
        step = self.rungs.next(parameter_id, prefer)
        if not step.promoted:
            self._configs.append(self.space.sample(self.rng))
            if self._root is not None:
                self._folders.append(self._root / str(parameter_id))
        if job is not None:
            self._last_of_job[job] = step.config_id
        params = {**self._configs[step.config_id], BUDGET_KEY: self.budgets[step.rung]}
        if self.resume:
            folder = self._folders[step.config_id]
            folder.mkdir(parents=True, exist_ok=True)
            params[CHECKPOINT_KEY] = str(folder)
            params[RESUME_KEY] = str(folder) if step.promoted else None
        return params

    async def receive_trial_result(
        self, parameter_id: int, parameters: dict, value: float, **info: Any
    ) -> None:
        self.rungs.finish(parameter_id, self.loss(value))  # ignored after the value at its budget

    async def receive_intermediate_result(
        self, parameter_id: int, parameters: dict, value: float, **info: Any
    ) -> None:
        step = self.rungs.running.get(parameter_id)
        if step is not None and at_budget(info.get("sequence"), self.budgets[step.rung]):
            self.rungs.finish(parameter_id, self.loss(value))

    async def trial_end(self, parameter_id: int, success: bool, **info: Any) -> None:
        if not success:
            self.rungs.finish(parameter_id, None)
