"""Random search: every configuration drawn independently from the priors of the space."""

from __future__ import annotations

from typing import Any

from ._base import BuiltinTuner


class RandomTuner(BuiltinTuner):
    """Samples each parameter from its prior; nested choices too.

    Class args: ``optimize_mode`` (accepted for a uniform config, unused), ``seed``. With a
    seed the sequence of configurations is fixed. Never raises NoMoreTrials. A suggestion
    costs a few microseconds.
    """

    async def generate_parameters(self, parameter_id: int, **info: Any) -> dict:
        return self.space.sample(self.rng)
