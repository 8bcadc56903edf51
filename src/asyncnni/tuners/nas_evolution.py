"""NASEvolution: the evolutionary architecture search of Single Path One-Shot (SPOS)."""

from __future__ import annotations

import random
from collections import deque
from typing import Any

import anyio

from ..errors import NoMoreTrials
from ..tuner import OptimizeMode, Tuner
from ._nas_space import Arch, NasSpace, require_space

# tries per wanted child before a generation is filled with random architectures instead
ATTEMPTS_PER_CHILD = 10


class NASEvolutionTuner(Tuner):
    """Evolution in generations, as SPOS (Guo et al., 2020) searches a trained supernet.

    Generation 0 holds ``population_size`` random architectures. Each later one is bred
    from the ``num_select`` best results so far: half by mutation (each key redrawn with
    probability ``mutation_prob``), half by crossover (each key taken from one of two
    parents), topped up with random ones. No architecture is handed out twice; after
    ``num_generations`` generations, or when the space is used up, it raises NoMoreTrials.

    A generation is bred only once every trial of the previous one has ended: the ask
    that needs it awaits their results (``wait_for_result``). So run it with
    ``async_dispatcher: true``, or with ``trial_concurrency: 1``; in serial mode with
    several trials running that wait would stall the experiment. Failed trials are
    never parents. Parameters are those of NASRandom.
    """

    def __init__(
        self,
        optimize_mode: str = "maximize",
        population_size: int = 20,
        num_select: int = 5,
        mutation_prob: float = 0.1,
        num_generations: int = 10,
        seed: int | None = None,
    ) -> None:
        if population_size < 1 or num_generations < 1 or num_select < 1:
            raise ValueError("population_size, num_select and num_generations must be at least 1")
        if not 0.0 <= mutation_prob <= 1.0:
            raise ValueError(f"mutation_prob must be within [0, 1], not {mutation_prob}")
        self.optimize_mode = OptimizeMode.parse(optimize_mode)
        self.population_size = population_size
        self.num_select = num_select
        self.mutation_prob = mutation_prob
        self.num_generations = num_generations
        self._rng = random.Random(seed)
        self._space: NasSpace | None = None
        self._lock = anyio.Lock()
        self._reset()

    def _reset(self) -> None:
        self._generation = 0  # generations bred so far
        self._queue: deque[Arch] = deque()  # this generation's architectures not handed out yet
        self._running: list[int] = []  # parameter ids of this generation
        self._arch_of: dict[int, Arch] = {}
        self._seen: set[Arch] = set()
        self._results: dict[Arch, float] = {}

    async def update_search_space(self, search_space: dict) -> None:
        self._space = NasSpace(search_space, "NASEvolution")
        self._reset()

    async def generate_parameters(self, parameter_id: int, **info: Any) -> dict:
        space = require_space(self._space)
        async with self._lock:  # one ask breeds the next generation, the others wait for it
            if not self._queue:
                await self._next_generation(space)
            arch = self._queue.popleft()
            self._arch_of[parameter_id] = arch
            self._running.append(parameter_id)
        return space.to_parameters(arch)

    async def receive_trial_result(
        self, parameter_id: int, parameters: dict, value: float, **info: Any
    ) -> None:
        arch = self._arch_of.get(parameter_id)
        if arch is None:
            arch = require_space(self._space).from_parameters(parameters)
        self._results[arch] = value

    async def import_data(self, data: list[dict]) -> None:
        space = require_space(self._space)
        for item in data:
            arch = space.from_parameters(item["parameter"])
            self._seen.add(arch)
            self._results[arch] = float(item["value"])

    async def _next_generation(self, space: NasSpace) -> None:
        if self._generation >= self.num_generations:
            raise NoMoreTrials(f"all {self.num_generations} generations have been handed out")
        for parameter_id in self._running:
            await self.wait_for_result(parameter_id)
        self._running = []
        children = self._breed(space, self._parents())
        self._seen.update(children)
        self._queue.extend(children)
        self._generation += 1
        if not self._queue:
            raise NoMoreTrials(f"all {space.size} architectures have been tried")

    def _parents(self) -> list[Arch]:
        ranked = sorted(self._results, key=lambda a: self.optimize_mode.to_loss(self._results[a]))
        return ranked[: self.num_select]

    def _breed(self, space: NasSpace, parents: list[Arch]) -> list[Arch]:
        children: list[Arch] = []
        taken = set(self._seen)

        def offer(child: Arch) -> None:
            if child not in taken:
                taken.add(child)
                children.append(child)

        if parents:
            wanted = (self.population_size // 2, self.population_size - self.population_size // 2)
            for count, make in zip(wanted, (self._mutate, self._crossover), strict=True):
                goal = len(children) + count
                for _ in range(count * ATTEMPTS_PER_CHILD):
                    if len(children) >= goal:
                        break
                    offer(make(space, parents))
        while len(children) < self.population_size:
            arch = space.sample_new(self._rng, taken)
            if arch is None:
                break
            offer(arch)
        return children

    def _mutate(self, space: NasSpace, parents: list[Arch]) -> Arch:
        parent = self._rng.choice(parents)
        return tuple(
            choice.sample(self._rng) if self._rng.random() < self.mutation_prob else chosen
            for choice, chosen in zip(space.choices, parent, strict=True)
        )

    def _crossover(self, space: NasSpace, parents: list[Arch]) -> Arch:
        mother, father = self._rng.choice(parents), self._rng.choice(parents)
        return tuple(self._rng.choice(pair) for pair in zip(mother, father, strict=True))
