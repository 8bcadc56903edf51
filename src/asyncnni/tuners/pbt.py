"""Population based training: members train step by step; weak ones copy strong ones.

Each parameter set is one training *step* of one population member. The trial loads the
weights in ``load_checkpoint_dir`` (when a checkpoint is there), trains, saves its weights in
``save_checkpoint_dir`` (a fresh folder per step, so nobody overwrites what another step may be
reading), then reports. When a member's step ends, its next step either continues from its own
checkpoint, or, if the member ranks in the worst ``fraction`` of the population, *exploits* a
member of the best ``fraction`` (loads its checkpoint, takes its hyperparameters) and
*explores* (multiplies each numeric hyperparameter by one of ``factors``, moves a choice to a
neighbouring option, or redraws it with ``resample_probability``).

A new step of a member can only start after its previous step ended. In the asynchronous
dispatcher mode a request that finds no member ready waits for the oldest running step with
``wait_for_result``; in serial mode a member is always ready as long as
``trial_concurrency <= population_size``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PluginError
from ..search_space import HPO_TYPES, ChoiceParam, SearchSpace
from ._base import BuiltinTuner

LOAD_KEY, SAVE_KEY = "load_checkpoint_dir", "save_checkpoint_dir"


@dataclass
class Member:
    """One lineage of the population."""

    id: int
    config: dict[str, Any]
    last_pid: int  # the step running, or the last one that ended
    running: bool = True
    loss: float | None = None  # of its last step, None when that step failed
    checkpoint: int | None = None  # parameter id of its last successful step


@dataclass(frozen=True)
class Step:
    """What the next trial runs: a member's config, and whose checkpoint it starts from."""

    member: Member
    load_from: int | None  # parameter id whose save folder to load; None: start afresh


def explore(
    space: SearchSpace,
    config: dict[str, Any],
    rng: np.random.Generator,
    factors: Sequence[float],
    resample_probability: float,
    step: float | None = None,
) -> dict[str, Any]:
    """A perturbed copy of ``config``, every value kept inside its parameter's range.

    A numeric value is multiplied by one of ``factors``, or, with ``step`` (NNI's
    ``factor``), moved by ``step`` of its range (in its unit encoding) up or down."""
    fresh = space.sample(rng)
    out: dict[str, Any] = {}
    for p in space.root.params:
        value = config[p.name]
        if rng.random() < resample_probability:
            out[p.name] = fresh[p.name]
        elif isinstance(p, ChoiceParam):
            i = p.option_index(value) + int(rng.choice([-1, 1]))
            out[p.name] = p.options[min(max(i, 0), len(p.options) - 1)]
        elif step is not None:
            out[p.name] = p.from_unit(p.to_unit(value) + step * float(rng.choice([-1, 1])))
        else:
            out[p.name] = p.from_unit(p.to_unit(value * float(rng.choice(factors))))
    return out


class Population:
    """The pure bookkeeping of PBT: which member runs next, from which checkpoint."""

    def __init__(
        self,
        space: SearchSpace,
        rng: np.random.Generator,
        *,
        size: int,
        factors: Sequence[float],
        fraction: float,
        resample_probability: float,
        step: float | None = None,
    ) -> None:
        self.space, self.rng, self.size = space, rng, size
        self.factors, self.fraction, self.step = tuple(factors), fraction, step
        self.resample_probability = resample_probability
        self.members: list[Member] = []
        self._ready: deque[Member] = deque()  # members whose last step ended, oldest first
        self._by_pid: dict[int, Member] = {}
        self.initial_configs: deque[dict[str, Any]] = deque()  # warm start, best first

    def next_step(self, parameter_id: int) -> Step | int:
        """The step ``parameter_id`` runs, or the parameter id to wait for before asking again."""
        if self._ready:
            return self._continue(self._ready.popleft(), parameter_id)
        if len(self.members) < self.size:
            config = (
                self.initial_configs.popleft()
                if self.initial_configs
                else self.space.sample(self.rng)
            )
            member = Member(len(self.members), config, parameter_id)
            self.members.append(member)
            self._by_pid[parameter_id] = member
            return Step(member, None)
        return min(m.last_pid for m in self.members if m.running)

    def _continue(self, member: Member, parameter_id: int) -> Step:
        load_from = member.checkpoint
        donor = self._donor(member)
        if donor is not None:
            member.config = explore(
                self.space,
                donor.config,
                self.rng,
                self.factors,
                self.resample_probability,
                self.step,
            )
            load_from = donor.checkpoint
        elif load_from is None:  # failed before it ever saved, and nobody to copy: start over
            member.config = self.space.sample(self.rng)
        member.running, member.last_pid = True, parameter_id
        self._by_pid[parameter_id] = member
        return Step(member, load_from)

    def _donor(self, member: Member) -> Member | None:
        """A member of the top fraction to copy, when ``member`` failed or is in the bottom one."""
        scored = sorted(
            (m for m in self.members if m.loss is not None and m.checkpoint is not None),
            key=lambda m: m.loss,
        )  # type: ignore[arg-type,return-value]
        cut = math.ceil(self.fraction * len(scored))
        if len(scored) < 2 or cut == 0:
            return None
        top = scored[:cut]
        if member.loss is not None and member not in scored[-cut:]:
            return None
        if member in top:
            return None
        return top[int(self.rng.integers(len(top)))]

    def finish(self, parameter_id: int, loss: float | None) -> None:
        """The step ``parameter_id`` ended with ``loss`` (None: failed). Repeats are ignored."""
        member = self._by_pid.get(parameter_id)
        if member is None or not member.running or member.last_pid != parameter_id:
            return
        member.running, member.loss = False, loss
        if loss is not None:
            member.checkpoint = parameter_id
        self._ready.append(member)


class PBTTuner(BuiltinTuner):
    """Population based training (NNI's PBTTuner) over a flat space of HPO types.

    Class args: ``optimize_mode`` ("maximize"), ``seed``, ``population_size`` (10),
    ``save_dir_root`` (where step folders go; default ``<shared_dir>/pbt``; NNI's name
    ``all_checkpoint_dir`` is accepted too), ``factors`` ((1.2, 0.8)), or NNI's ``factor``
    (move a numeric value by that fraction of its range instead), ``fraction`` (0.2),
    ``resample_probability`` (0.25). Each parameter set holds the hyperparameters plus
    ``load_checkpoint_dir`` and ``save_checkpoint_dir``; the trial must finish writing its
    checkpoint (atomically) before it reports its final result. Never raises NoMoreTrials:
    ``max_trial_number`` bounds the run.
    """

    supported = HPO_TYPES

    def __init__(
        self,
        optimize_mode: str = "maximize",
        seed: int | None = None,
        population_size: int = 10,
        save_dir_root: str | None = None,
        all_checkpoint_dir: str | None = None,
        factors: Sequence[float] = (1.2, 0.8),
        fraction: float = 0.2,
        resample_probability: float = 0.25,
        factor: float | None = None,
    ) -> None:
        super().__init__(optimize_mode, seed)
        if factor is not None and not 0 < factor < 1:
            raise ValueError(f"factor must be within (0, 1), not {factor!r}")
        if population_size < 1 or not 0 < fraction <= 0.5 or not 0 <= resample_probability <= 1:
            raise ValueError(
                "need population_size >= 1, 0 < fraction <= 0.5, 0 <= resample_probability <= 1"
            )
        if not factors or any(f <= 0 for f in factors):
            raise ValueError(f"factors must be positive numbers, got {factors!r}")
        root = save_dir_root or all_checkpoint_dir
        self._root = Path(root) if root else None
        self._options = {
            "size": population_size,
            "factors": factors,
            "fraction": fraction,
            "resample_probability": resample_probability,
            "step": factor,
        }
        self._population: Population | None = None

    def _on_search_space(self, space: SearchSpace) -> None:
        self._population = Population(space, self.rng, **self._options)

    @property
    def population(self) -> Population:
        if self._population is None:
            raise RuntimeError("PBTTuner: update_search_space was not called")
        return self._population

    def _step_dir(self, parameter_id: int) -> Path:
        root = self._root or (Path(self.shared_dir) / "pbt" if self.shared_dir else None)
        if root is None:
            raise PluginError(
                "tuner PBT needs a folder for checkpoints: configure shared_storage or give save_dir_root"
            )
        return root / str(parameter_id)

    async def generate_parameters(self, parameter_id: int, **info: Any) -> dict:
        population = self.population
        while True:
            step = population.next_step(parameter_id)
            if isinstance(step, Step):
                break
            outcome = await self.wait_for_result(step)
            population.finish(step, self.loss(outcome.value) if outcome.succeeded else None)
        save = self._step_dir(parameter_id)
        save.mkdir(parents=True, exist_ok=True)
        load = save if step.load_from is None else self._step_dir(step.load_from)
        return {**step.member.config, LOAD_KEY: str(load), SAVE_KEY: str(save)}

    async def receive_trial_result(
        self, parameter_id: int, parameters: dict, value: float, **info: Any
    ) -> None:
        self.population.finish(parameter_id, self.loss(value))

    async def trial_end(self, parameter_id: int, success: bool, **info: Any) -> None:
        if not success:
            self.population.finish(parameter_id, None)

    async def import_data(self, data: list[dict]) -> None:
        ranked = sorted(
            ((loss, params) for params, _, loss in self.imported(data)), key=lambda r: r[0]
        )
        self.population.initial_configs.extend(
            {p.name: params[p.name] for p in self.space.root.params} for _, params in ranked
        )
