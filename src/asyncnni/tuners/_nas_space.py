"""The NAS search space (``layer_choice`` / ``input_choice``) as the NAS tuners see it.

An architecture is a tuple with one entry per key, in search-space order: the sorted
indices chosen for that key (one index for a layer_choice). Pure code: no I/O, no torch.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import SearchSpaceError
from ..search_space import NAS_TYPES, NasParam, SearchSpace

Arch = tuple[tuple[int, ...], ...]

# below this many architectures, drawing an unseen one may list them all instead of retrying
ENUMERATE_LIMIT = 100_000


@dataclass(frozen=True)
class NasChoice:
    """One key: choose ``n_chosen`` of ``labels`` (any number, none included, when None)."""

    key: str
    labels: tuple[str, ...]
    n_chosen: int | None
    is_layer: bool

    def sample(self, rng: random.Random) -> tuple[int, ...]:
        n = len(self.labels)
        if self.n_chosen is None:
            return tuple(i for i in range(n) if rng.random() < 0.5)
        return tuple(sorted(rng.sample(range(n), self.n_chosen)))

    def count(self) -> int:
        n = len(self.labels)
        return 2**n if self.n_chosen is None else math.comb(n, self.n_chosen)

    def options(self) -> Iterator[tuple[int, ...]]:
        sizes = range(len(self.labels) + 1) if self.n_chosen is None else [self.n_chosen]
        for size in sizes:
            yield from itertools.combinations(range(len(self.labels)), size)

    def parameter(self, chosen: tuple[int, ...]) -> dict[str, Any]:
        if self.is_layer:
            return {"_value": self.labels[chosen[0]], "_idx": chosen[0]}
        return {"_value": [self.labels[i] for i in chosen], "_idx": list(chosen)}

    def parse(self, parameter: Any) -> tuple[int, ...]:
        """The indices of a parameter this choice would give; SearchSpaceError if it does not fit."""
        indices = parameter.get("_idx") if isinstance(parameter, Mapping) else None
        raw = [indices] if self.is_layer else indices
        fits = isinstance(raw, list) and all(
            isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(self.labels)
            for i in raw
        )
        chosen = tuple(sorted(set(raw))) if fits else ()
        if (
            not fits
            or len(chosen) != len(raw)
            or (self.n_chosen is not None and len(chosen) != self.n_chosen)
            or self.parameter(chosen) != dict(parameter)
        ):
            raise SearchSpaceError(
                f"{self.key}: {parameter!r} is not a choice of this search space"
            )
        return chosen


class NasSpace:
    """A validated NAS search space; any type besides the two NAS ones is refused, naming
    its key and ``tuner``."""

    def __init__(self, search_space: Mapping[str, Any], tuner: str) -> None:
        parsed = SearchSpace(search_space)
        parsed.require(NAS_TYPES, tuner)
        self.choices = [_choice(param) for param in parsed.params()]
        if not self.choices:
            raise SearchSpaceError(f"tuner {tuner} needs at least one layer_choice or input_choice")
        self.size = math.prod(choice.count() for choice in self.choices)

    def sample(self, rng: random.Random) -> Arch:
        return tuple(choice.sample(rng) for choice in self.choices)

    def sample_new(self, rng: random.Random, seen: set[Arch]) -> Arch | None:
        """A random architecture not in ``seen`` (which holds only this space's), or None
        when every one has been seen."""
        if len(seen) >= self.size:
            return None
        if self.size <= ENUMERATE_LIMIT and 2 * len(seen) >= self.size:
            return rng.choice([arch for arch in self.all() if arch not in seen])
        while True:  # at least half the space is unseen: a few draws at most, on average
            arch = self.sample(rng)
            if arch not in seen:
                return arch

    def all(self) -> Iterator[Arch]:
        return itertools.product(*(choice.options() for choice in self.choices))

    def to_parameters(self, arch: Arch) -> dict[str, dict[str, Any]]:
        return {c.key: c.parameter(chosen) for c, chosen in zip(self.choices, arch, strict=True)}

    def from_parameters(self, parameters: Mapping[str, Any]) -> Arch:
        """The architecture of parameters made by ``to_parameters``; SearchSpaceError otherwise."""
        if set(parameters) != {c.key for c in self.choices}:
            raise SearchSpaceError(
                f"parameters {sorted(parameters)} do not match the search space keys"
            )
        return tuple(c.parse(parameters[c.key]) for c in self.choices)


def _choice(param: NasParam) -> NasChoice:
    if param.type == "layer_choice":
        return NasChoice(param.name, tuple(str(v) for v in param.value), 1, is_layer=True)
    candidates = tuple(str(c) for c in param.value["candidates"])
    return NasChoice(param.name, candidates, param.value.get("n_chosen"), is_layer=False)


def require_space(space: NasSpace | None) -> NasSpace:
    """``space``, or SearchSpaceError when the tuner has not been given one yet."""
    if space is None:
        raise SearchSpaceError("the tuner has no search space yet (update_search_space first)")
    return space
