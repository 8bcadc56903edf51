"""Evolution with weight inheritance, written as asynchronous coroutines.

The tuner keeps a population of small network configurations. The first
``population_size`` are random; after that each new configuration is a *child*: a copy of
a parent with one choice mutated, and it starts from the weights its parent trained
(``restore_dir`` = the parent's folder under the shared storage, ``save_dir`` = its own;
each experiment uses a sub-folder of its own there).

A parent is picked by tournament among the ``sample_size`` youngest-but-``population_size``
individuals (regularised, "aging" evolution): the best of the sample that has a result, or,
when none of them has finished yet, the oldest of them, whose result the child then awaits
(``await self.wait_for_result(parent)``). Meanwhile other trial jobs are served: the
experiment runs with ``async_dispatcher: true``.

A parent that fails (its trial crashed, or ended without a result) wakes its child with a
failed outcome. ``on_parent_failure`` says what the child does then: ``another_parent``
(mutate the best individual that succeeded instead; from scratch when there is none) or
``scratch`` (keep the mutated configuration, train it from random weights).
"""

import random
import secrets
from dataclasses import dataclass
from pathlib import Path

from asyncnni import Tuner


@dataclass
class Individual:
    parameter_id: int
    config: dict
    value: float | None = None  # its final accuracy, once reported
    failed: bool = False


class WeightSharingEvolution(Tuner):
    """Class args: ``population_size``, ``sample_size``, ``on_parent_failure``
    (``another_parent`` or ``scratch``), ``save_dir_root`` (default: the experiment's
    shared storage), ``seed``. Every search-space entry must be a ``choice``."""

    def __init__(
        self,
        population_size=8,
        sample_size=3,
        on_parent_failure="another_parent",
        save_dir_root=None,
        seed=0,
    ):
        if on_parent_failure not in ("another_parent", "scratch"):
            raise ValueError("on_parent_failure must be 'another_parent' or 'scratch'")
        self.population_size = population_size
        self.sample_size = sample_size
        self.on_parent_failure = on_parent_failure
        self.save_dir_root = save_dir_root
        self.run_name = f"run-{secrets.token_hex(4)}"  # experiments sharing a root never mix
        self.rng = random.Random(seed)
        self.choices = {}
        self.individuals: dict[int, Individual] = {}  # every configuration so far, by id

    async def update_search_space(self, search_space):
        for name, spec in search_space.items():
            if spec.get("_type") != "choice" or len(spec["_value"]) < 1:
                raise ValueError(f"WeightSharingEvolution: {name!r} must be a choice, not {spec}")
        self.choices = {name: spec["_value"] for name, spec in search_space.items()}

    def _folder(self, parameter_id: int) -> str:
        root = self.save_dir_root or self.shared_dir
        if root is None:
            raise ValueError("WeightSharingEvolution needs shared_storage or save_dir_root")
        return str(Path(root) / self.run_name / f"p{parameter_id}")

    async def generate_parameters(self, parameter_id, **info):
        # No await between picking a parent and registering the child: coroutines switch only
        # at an await, so concurrent requests never see a half-updated population.
        parent = self._pick_parent()
        config = self._mutate(parent.config) if parent else self._random_config()
        self.individuals[parameter_id] = Individual(parameter_id, config)
        while parent is not None:
            outcome = await self.wait_for_result(parent.parameter_id)
            if outcome.succeeded:
                break
            # the parent's weights do not exist: honour the configured choice
            if self.on_parent_failure == "scratch":
                parent = None
            else:
                parent = self._best_succeeded()
                if parent is not None:
                    config = self.individuals[parameter_id].config = self._mutate(parent.config)
        return {
            **config,
            "save_dir": self._folder(parameter_id),
            "restore_dir": None if parent is None else self._folder(parent.parameter_id),
            "parent_id": None if parent is None else parent.parameter_id,
        }

    async def receive_trial_result(self, parameter_id, parameters, value, **info):
        self.individuals[parameter_id].value = value

    async def trial_end(self, parameter_id, success, **info):
        if not success:
            self.individuals[parameter_id].failed = True

    # --- evolution ------------------------------------------------------------------

    def _random_config(self) -> dict:
        return {name: self.rng.choice(values) for name, values in self.choices.items()}

    def _mutate(self, config: dict) -> dict:
        """A copy of ``config`` with one choice changed (when any choice has another value)."""
        mutable = [name for name, values in self.choices.items() if len(values) > 1]
        child = dict(config)
        if mutable:
            name = self.rng.choice(mutable)
            child[name] = self.rng.choice([v for v in self.choices[name] if v != config[name]])
        return child

    def _pick_parent(self) -> Individual | None:
        alive = [i for i in self.individuals.values() if not i.failed]
        if len(self.individuals) < self.population_size or not alive:
            return None
        population = alive[-self.population_size :]  # the youngest: old ones age out
        sample = self.rng.sample(population, min(self.sample_size, len(population)))
        finished = [i for i in sample if i.value is not None]
        if finished:
            return max(finished, key=lambda i: i.value)
        return min(sample, key=lambda i: i.parameter_id)  # the oldest will finish first

    def _best_succeeded(self) -> Individual | None:
        finished = [i for i in self.individuals.values() if i.value is not None]
        return max(finished, key=lambda i: i.value, default=None)
