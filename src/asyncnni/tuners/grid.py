"""Grid search over every combination of the discrete parameters of a space."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from ..errors import NoMoreTrials, SearchSpaceError
from ..search_space import ChoiceParam, NumericParam, SearchSpace, Subspace, q_round
from ._base import BuiltinTuner, config_key


def grid_values(param: NumericParam) -> list[int | float]:
    """The values a randint or bounded q-type parameter can take, in increasing order."""
    if param.type == "randint":
        return list(range(int(param.low), int(param.high) + 1))
    if param.q is None or not param.bounded:
        kind = "an unbounded range" if not param.bounded else "a continuous range without q"
        raise SearchSpaceError(
            f"{param.path}: GridSearch cannot enumerate {param.type} ({kind}); "
            "use choice, randint or a q-type with finite bounds"
        )
    q = param.q
    steps = range(round(param.low / q), round(param.high / q) + 1)
    return sorted({q_round(k * q, q, param.low, param.high) for k in steps})


def grid_points(sub: Subspace) -> Iterator[dict[str, Any]]:
    """Every configuration of ``sub``, the last parameter varying fastest."""
    axes: list[list[Any]] = []
    for p in sub.params:
        if isinstance(p, ChoiceParam):
            axes.append(list(_choice_values(p)))
        else:
            assert isinstance(p, NumericParam)  # NAS types are refused before we get here
            axes.append(grid_values(p))
    names = [p.name for p in sub.params]
    for combo in itertools.product(*axes):
        yield dict(zip(names, combo, strict=True))


def _choice_values(p: ChoiceParam) -> Iterator[Any]:
    for option, nested in zip(p.options, p.subspaces, strict=True):
        if nested is None:
            yield option
        else:
            for point in grid_points(nested):
                yield {"_name": option["_name"], **point}


class GridSearchTuner(BuiltinTuner):
    """Tries every point of the grid once, in a fixed order, then raises NoMoreTrials.

    The grid spans choices (nested ones expanded), randint and q-types with finite bounds;
    any other numeric type is refused in ``update_search_space``, naming the parameter.
    Points already in ``import_data`` are skipped. Class arg: ``optimize_mode`` (unused).
    """

    def __init__(self, optimize_mode: str = "maximize") -> None:
        super().__init__(optimize_mode)
        self._points: Iterator[dict[str, Any]] = iter(())
        self._done: set[str] = set()

    def _on_search_space(self, space: SearchSpace) -> None:
        for p in space.dims:  # fail now, not half-way through the grid
            if isinstance(p, NumericParam):
                grid_values(p)
        self._points = grid_points(space.root)

    async def generate_parameters(self, parameter_id: int, **info: Any) -> dict:
        for point in self._points:
            if config_key(point) not in self._done:
                return point
        raise NoMoreTrials("every point of the grid was tried")

    async def import_data(self, data: list[dict]) -> None:
        self._done.update(config_key(params) for params, _, _ in self.imported(data))
