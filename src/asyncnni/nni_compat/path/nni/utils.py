"""NNI's ``nni.utils``: what tuners, assessors and trials written for NNI import from it.

Plain Python only (no numpy), so a trial may import it too.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "ClassArgsValidator",
    "MetricType",
    "NodeType",
    "OptimizeMode",
    "convert_dict2tuple",
    "extract_scalar_history",
    "extract_scalar_reward",
    "merge_parameter",
    "split_index",
]


@enum.unique
class OptimizeMode(enum.Enum):
    """NNI's optimize modes, by value: ``OptimizeMode("minimize")``."""

    Minimize = "minimize"
    Maximize = "maximize"


class NodeType:
    """The reserved keys of NNI's search-space format."""

    ROOT = "root"
    TYPE = "_type"
    VALUE = "_value"
    INDEX = "_index"
    NAME = "_name"


class MetricType:
    """The kinds of metric reports, as NNI names them."""

    FINAL = "FINAL"
    PERIODICAL = "PERIODICAL"
    REQUEST_PARAMETER = "REQUEST_PARAMETER"


def extract_scalar_reward(value: Any, scalar_key: str = "default") -> float | int:
    """The number in a reported metric: the metric itself, or its ``scalar_key`` entry.
    Anything else raises RuntimeError, as in NNI."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        return value
    if isinstance(value, dict):
        scalar = value.get(scalar_key)
        if isinstance(scalar, float | int) and not isinstance(scalar, bool):
            return scalar
    raise RuntimeError(
        "Incorrect final result: the final result should be float/int, "
        f'or a dict which has a key named "{scalar_key}" whose value is float/int.'
    )


def extract_scalar_history(trial_history: list, scalar_key: str = "default") -> list:
    """:func:`extract_scalar_reward` of each intermediate result."""
    return [extract_scalar_reward(entry, scalar_key) for entry in trial_history]


def split_index(params: Any) -> Any:
    """Parameters without the ``_index`` wrappers some NNI tuners put around chosen values."""
    if isinstance(params, dict):
        if NodeType.INDEX in params:
            return split_index(params[NodeType.VALUE])
        return {key: split_index(value) for key, value in params.items()}
    return params


def convert_dict2tuple(value: Any) -> Any:
    """Dicts (nested too) as sorted tuples of items, to be hashable. Changes ``value`` in place,
    as NNI's does."""
    if isinstance(value, dict):
        for key in value:
            value[key] = convert_dict2tuple(value[key])
        return tuple(sorted(value.items()))
    return value


def merge_parameter(base_params: Any, override_params: dict | None) -> Any:
    """Update ``base_params`` (a dict or an argparse namespace) in place with the tuner's
    ``override_params`` and return it. An unknown key, or a value whose type does not fit
    the base value (an int where a float is expected is fine), raises ValueError."""
    if override_params is None:
        return base_params
    is_dict = isinstance(base_params, dict)
    for key, value in override_params.items():
        present = key in base_params if is_dict else hasattr(base_params, key)
        if not present:
            raise ValueError(f"Key '{key}' not found in base parameters.")
        base = base_params[key] if is_dict else getattr(base_params, key)
        value = _compatible(key, base, value)
        if is_dict:
            base_params[key] = value
        else:
            setattr(base_params, key, value)
    return base_params


def _compatible(key: str, base: Any, override: Any) -> Any:
    if base is None or isinstance(override, type(base)):
        return override
    if isinstance(base, float) and isinstance(override, int):
        return float(override)
    raise ValueError(
        f'Expected "{key}" in override parameters to have type {type(base).__name__}, '
        f"but found {type(override).__name__}"
    )


class _Check:
    """A predicate with its error message. Callable, so the ``schema`` package (which NNI's
    validators use) takes it inside ``Schema({...})``; without that package, call it."""

    def __init__(self, predicate: Callable[[Any], bool], error: str) -> None:
        self.predicate, self.error = predicate, error

    def __call__(self, value: Any) -> bool:
        if not self.predicate(value):
            raise ValueError(self.error)
        return True


class ClassArgsValidator:
    """NNI's base of class-args validators: override ``validate_class_args(**kwargs)`` and
    raise on a bad argument. ``choices``, ``range`` and ``path`` build the usual checks."""

    def validate_class_args(self, **kwargs: Any) -> None:
        """Raise an exception when the class args are invalid."""

    def choices(self, key: str, *args: Any) -> _Check:
        return _Check(lambda n: n in args, f"{key} should be in [{args}]!")

    def range(self, key: str, keyType: type, start: Any, end: Any) -> _Check:  # noqa: N803
        return _Check(
            lambda n: isinstance(n, keyType) and start <= n <= end,
            f"{key} should be {keyType.__name__} in range of ({start}, {end})!",
        )

    def path(self, key: str) -> _Check:
        return _Check(
            lambda p: isinstance(p, str) and Path(p).exists(), f"{key} path does not exist!"
        )
