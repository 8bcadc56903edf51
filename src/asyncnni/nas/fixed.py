"""A fixed architecture: what a classic (distributed) NAS trial applies to its model."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .base_mutator import group_mutables
from .errors import ArchitectureError
from .mutables import LayerChoice, Mutable
from .mutator import Decision, Mutator, check_decision, choice_mask

SS_GEN_ENV = "ASYNCNNI_SS_GEN"
"""Set by ``asyncnni ss-gen --exp``: apply_fixed_architecture writes the search space there and exits."""


class FixedArchitecture(Mutator):
    """Applies one architecture for good: every ``reset()`` and ``export()`` gives it back.

    The architecture is checked before the model is bound, so a bad one leaves the model
    free for another try.
    """

    def __init__(self, model: nn.Module, architecture: Mapping[str, Any]) -> None:
        mutables = {key: members[0] for key, members in group_mutables(model).items()}
        decision = architecture_to_decision(mutables, architecture)
        super().__init__(model)
        self._fixed = decision
        self.reset()

    def sample_search(self) -> Decision:
        return dict(self._fixed)

    def sample_final(self) -> Decision:
        return dict(self._fixed)


def apply_fixed_architecture(
    model: nn.Module, architecture: Mapping[str, Any] | str | os.PathLike
) -> FixedArchitecture:
    """Fix the model's architecture and return the (already reset) mutator that holds it.

    ``architecture`` is a dict or the path of a JSON file holding one, keyed by mutable
    key, each value either

    - a tuner's parameter, ``{"_value": "label", "_idx": 0}`` for a LayerChoice and
      ``{"_value": ["label"], "_idx": [1]}`` for an InputChoice (either field may be
      left out; when both are given they must agree), or
    - an exported decision: a list of bools or floats (see ``decision_to_json``).

    An unknown key, a missing key, an index out of range or a label that does not match
    raise ArchitectureError naming the key. When ``$ASYNCNNI_SS_GEN`` names a file (as
    ``asyncnni ss-gen --exp`` does), the model's search space is written there and the
    process exits instead.
    """
    target = os.environ.get(SS_GEN_ENV)
    if target:
        from .ssgen import search_space

        Path(target).write_text(json.dumps(search_space(model), indent=2) + "\n")
        raise SystemExit(0)
    if not isinstance(architecture, Mapping):
        architecture = json.loads(Path(architecture).read_text())
    return FixedArchitecture(model, architecture)


def architecture_to_decision(
    mutables: Mapping[str, Mutable], architecture: Mapping[str, Any]
) -> Decision:
    """Turn tuner parameters or an exported decision (see apply_fixed_architecture) into a
    checked decision for ``mutables`` (key -> mutable)."""
    decision = {}
    for key, value in architecture.items():
        mutable = mutables.get(key)
        if mutable is None:
            raise ArchitectureError(f"unknown mutable key {key!r}; the model has {list(mutables)}")
        if isinstance(value, Mapping):
            decision[key] = _parameter_mask(key, mutable, value)
        else:
            decision[key] = value if isinstance(value, torch.Tensor) else torch.tensor(value)
    return check_decision(mutables, decision)


def _parameter_mask(key: str, mutable: Mutable, parameter: Mapping[str, Any]) -> torch.Tensor:
    single = isinstance(mutable, LayerChoice)
    indices, labels = parameter.get("_idx"), parameter.get("_value")
    if indices is None and labels is None:
        raise ArchitectureError(f"parameter {key!r} has neither '_idx' nor '_value': {parameter!r}")
    if single:
        indices = None if indices is None else [indices]
        labels = None if labels is None else [labels]
    if indices is None:
        indices = [_index_of(key, mutable, label) for label in _as_list(key, "_value", labels)]
    indices = _as_list(key, "_idx", indices)
    for i in indices:
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < mutable.n_candidates:
            raise ArchitectureError(
                f"parameter {key!r}: index {i!r} is out of range for {mutable.n_candidates} candidates"
            )
    if len(set(indices)) != len(indices):
        raise ArchitectureError(f"parameter {key!r}: index chosen twice in {indices}")
    if labels is not None:
        expected = [mutable.labels[i] for i in indices]
        if _as_list(key, "_value", labels) != expected:
            raise ArchitectureError(
                f"parameter {key!r}: _value {parameter['_value']!r} does not match _idx "
                f"{parameter['_idx']!r}, which is {expected if not single else expected[0]!r}; "
                "was the search space generated from this model?"
            )
    return choice_mask(mutable.n_candidates, indices)


def _as_list(key: str, field: str, value: Any) -> list:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ArchitectureError(f"parameter {key!r}: {field} must be a list, got {value!r}")
    return list(value)


def _index_of(key: str, mutable: Mutable, label: Any) -> int:
    matches = [i for i, candidate in enumerate(mutable.labels) if candidate == label]
    if len(matches) != 1:
        problem = "is not a candidate" if not matches else "names several candidates"
        raise ArchitectureError(
            f"parameter {key!r}: _value {label!r} {problem}; candidates: {mutable.labels}"
        )
    return matches[0]
