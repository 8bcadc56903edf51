"""Regularised evolution: tournament selection, mutation, and the oldest member leaves."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

from ..search_space import SearchSpace
from ._base import ModelBasedTuner
from ._neighbours import active_dims, perturb


class EvolutionOptimizer:
    """A population of the ``population_size`` newest results.

    Until it is full, suggestions are random. Then each suggestion mutates the winner of a
    tournament among ``tournament_size`` members drawn at random: on average one active
    parameter changes (a numeric one by a Gaussian step of sd ``mutation_sigma`` in unit
    space, a choice to a random option). Each result joins the population and pushes out its
    oldest member (aging keeps the search moving, as in Real et al.'s regularised evolution).
    """

    def __init__(
        self,
        space: SearchSpace,
        rng: np.random.Generator,
        *,
        population_size: int = 32,
        tournament_size: int = 8,
        mutation_sigma: float = 0.15,
    ) -> None:
        self.space, self.rng = space, rng
        self.tournament_size, self.mutation_sigma = tournament_size, mutation_sigma
        self.population: deque[tuple[np.ndarray, float]] = deque(maxlen=population_size)

    def tell(self, vector: np.ndarray, loss: float) -> None:
        self.population.append((vector, loss))

    def ask(self, pending: Sequence[np.ndarray] = ()) -> np.ndarray:
        pop = self.population
        if len(pop) < pop.maxlen:  # type: ignore[operator]
            return self.space.random_vector(self.rng)
        picks = self.rng.choice(len(pop), size=min(self.tournament_size, len(pop)), replace=False)
        parent = pop[min(picks, key=lambda i: pop[i][1])][0]
        n_active = max(int(active_dims(self.space, parent).sum()), 1)
        return perturb(
            self.space, parent, self.rng, sigma=self.mutation_sigma, p_dim=1.0 / n_active
        )


class EvolutionTuner(ModelBasedTuner):
    """Evolution over the whole HPO language (nested choices included).

    Class args: ``optimize_mode`` ("maximize"), ``seed``, ``population_size`` (32, as NNI),
    ``tournament_size`` (8), ``mutation_sigma`` (0.15).
    """

    optimizer_class = EvolutionOptimizer

    def __init__(
        self,
        optimize_mode: str = "maximize",
        seed: int | None = None,
        population_size: int = 32,
        tournament_size: int = 8,
        mutation_sigma: float = 0.15,
    ) -> None:
        super().__init__(
            optimize_mode,
            seed,
            population_size=population_size,
            tournament_size=tournament_size,
            mutation_sigma=mutation_sigma,
        )
        if population_size < 1 or tournament_size < 1 or mutation_sigma <= 0:
            raise ValueError("need population_size >= 1, tournament_size >= 1, mutation_sigma > 0")


class RegularizedEvolutionTuner(EvolutionTuner):
    """NNI's RegularizedEvolutionTuner: the same algorithm under NNI's argument names.

    Class args: ``optimize_mode`` ("maximize"), ``population_size`` (100), ``sample_size``
    (25: the tournament), ``seed``.
    """

    def __init__(
        self,
        optimize_mode: str = "maximize",
        population_size: int = 100,
        sample_size: int = 25,
        seed: int | None = None,
    ) -> None:
        super().__init__(optimize_mode, seed, population_size, tournament_size=sample_size)
