"""NASRandom: uniformly random architectures, each tried once."""

from __future__ import annotations

import random
from typing import Any

from ..errors import NoMoreTrials
from ..tuner import Tuner
from ._nas_space import Arch, NasSpace, require_space


class NASRandomTuner(Tuner):
    """Draws architectures uniformly from a ``layer_choice`` / ``input_choice`` space.

    Parameters look like ``{"op": {"_value": "conv3x3", "_idx": 0}, "skip": {"_value":
    ["1"], "_idx": [1]}}``, ready for ``asyncnni.nas.apply_fixed_architecture``. No
    architecture is handed out twice (imported ones count as tried); when all have been
    tried it raises NoMoreTrials. The same ``seed`` gives the same sequence.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed)
        self._space: NasSpace | None = None
        self._tried: set[Arch] = set()

    async def update_search_space(self, search_space: dict) -> None:
        self._space = NasSpace(search_space, "NASRandom")
        self._tried = set()

    async def generate_parameters(self, parameter_id: int, **info: Any) -> dict:
        space = require_space(self._space)
        arch = space.sample_new(self._rng, self._tried)
        if arch is None:
            raise NoMoreTrials(f"all {space.size} architectures have been tried")
        self._tried.add(arch)
        return space.to_parameters(arch)

    async def import_data(self, data: list[dict]) -> None:
        space = require_space(self._space)
        self._tried.update(space.from_parameters(item["parameter"]) for item in data)
