"""Batch tuner: run exactly the configurations the user listed, in order, then stop."""

from __future__ import annotations

from typing import Any

from ..errors import NoMoreTrials, SearchSpaceError
from ..tuner import Tuner
from ._base import config_key


class BatchTuner(Tuner):
    """NNI's BatchTuner. The search space has one key (by convention ``combine_params``), a
    ``choice`` whose options are the complete configurations::

        {"combine_params": {"_type": "choice", "_value": [{"lr": 0.1, "bs": 32}, ...]}}

    ``generate_parameters`` returns them one by one, in order (each exactly once), then
    raises NoMoreTrials. Configurations found in ``import_data`` are skipped. No class args.
    """

    def __init__(self) -> None:
        self._configs: list[dict] = []
        self._next = 0
        self._done: set[str] = set()

    async def update_search_space(self, search_space: dict) -> None:
        ok = isinstance(search_space, dict) and len(search_space) == 1
        key, spec = next(iter(search_space.items())) if ok else ("combine_params", None)
        if (
            not ok
            or not isinstance(spec, dict)
            or spec.get("_type") != "choice"
            or not isinstance(spec.get("_value"), list)
        ):
            raise SearchSpaceError(
                f"{key}: tuner Batch needs a space with exactly one key (e.g. combine_params) "
                f"of _type choice listing the configurations; got keys {sorted(search_space)}"
            )
        for i, config in enumerate(spec["_value"]):
            if not isinstance(config, dict):
                raise SearchSpaceError(f"{key}/{i}: a configuration must be a map, got {config!r}")
        self._configs = [dict(c) for c in spec["_value"]]
        self._next = 0

    async def generate_parameters(self, parameter_id: int, **info: Any) -> dict:
        while self._next < len(self._configs):
            config = self._configs[self._next]
            self._next += 1
            if config_key(config) not in self._done:
                return config
        raise NoMoreTrials(f"all {len(self._configs)} listed configurations were handed out")

    async def import_data(self, data: list[dict]) -> None:
        self._done.update(
            config_key(r["parameter"])
            for r in data
            if isinstance(r, dict) and isinstance(r.get("parameter"), dict)
        )
