"""Mutables: the places in a model where the architecture is still open.

A mutable does not decide anything itself. Its forward pass asks the mutator bound to the
model (see :mod:`asyncnni.nas.mutator`) which candidates to compute, so the same model
serves one-shot search (DARTS, ENAS), random sampling and a fixed architecture.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from .errors import NasError

if TYPE_CHECKING:
    from .base_mutator import BaseMutator

REDUCTIONS = ("sum", "mean", "concat", "none")


class Mutable(nn.Module):
    """Base of LayerChoice and InputChoice.

    ``key`` names the decision: mutables with the same key share one decision. A mutable
    created without a key gets its dotted path in the model (e.g. ``"cells.0.op"``) when a
    mutator binds the model, so keys are the same every time the same model is built.
    ``labels`` are the candidates' names, as the search space lists them.
    """

    def __init__(self, key: str | None, reduction: str) -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {', '.join(REDUCTIONS)}, not {reduction!r}")
        if key is not None and not (isinstance(key, str) and key):
            raise ValueError(f"a mutable's key must be a non-empty string, not {key!r}")
        self.key = key
        self.reduction = reduction
        self.labels: list[str] = []
        # kept out of nn.Module's registry: the mutator is not a part of the model
        object.__setattr__(self, "_mutator", None)

    @property
    def n_candidates(self) -> int:
        return len(self.labels)

    @property
    def mutator(self) -> BaseMutator | None:
        """The mutator that decides for this mutable, once one is bound."""
        return self._mutator

    def _check_unbound(self) -> None:
        if self._mutator is not None:
            raise NasError(
                f"mutable {self.key!r} is already bound to {type(self._mutator).__name__}; "
                "a model takes one mutator (or one fixed architecture): build a new model"
            )

    def _attach(self, mutator: BaseMutator, key: str) -> None:
        self._check_unbound()
        if self.key is None:
            self.key = key
        object.__setattr__(self, "_mutator", mutator)

    def _bound_mutator(self) -> BaseMutator:
        if self._mutator is None:
            raise NasError(
                f"{type(self).__name__} {self.key or ''} has no mutator: bind the model to a "
                "Mutator or call apply_fixed_architecture before the forward pass"
            )
        return self._mutator

    def extra_repr(self) -> str:
        return f"key={self.key!r}, reduction={self.reduction!r}"


class LayerChoice(Mutable):
    """Computes the chosen candidate module(s) on the same input and reduces their outputs.

    ``candidates`` is a list of modules (labelled by their one-line repr) or a mapping
    from label to module. ``reduction`` combines several chosen outputs: ``sum``, ``mean``,
    ``concat`` (along dimension 1) or ``none`` (a list).
    """

    def __init__(
        self,
        candidates: Sequence[nn.Module] | Mapping[str, nn.Module],
        key: str | None = None,
        reduction: str = "sum",
    ) -> None:
        super().__init__(key, reduction)
        if isinstance(candidates, Mapping):
            labels, modules = [str(k) for k in candidates], list(candidates.values())
        else:
            modules = list(candidates)
            labels = [" ".join(repr(m).split()) for m in modules]
        if not modules:
            raise ValueError("LayerChoice needs at least one candidate")
        self.candidates = nn.ModuleList(modules)
        self.labels = labels

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self._bound_mutator().on_forward_layer_choice(self, *args, **kwargs)


class InputChoice(Mutable):
    """Chooses ``n_chosen`` of its input tensors and reduces them.

    ``candidates`` is the number of inputs or their names (e.g. the keys of the layers they
    come from); numbers are labelled ``"0"``, ``"1"``, ... ``n_chosen=None`` lets the
    decision take any number of inputs, none included: then the result is None (an empty
    list with ``reduction="none"``), as in NNI.
    """

    def __init__(
        self,
        candidates: int | Sequence[str],
        n_chosen: int | None = None,
        reduction: str = "sum",
        key: str | None = None,
    ) -> None:
        super().__init__(key, reduction)
        if isinstance(candidates, int):
            labels = [str(i) for i in range(candidates)]
        else:
            labels = [str(c) for c in candidates]
        if not labels:
            raise ValueError("InputChoice needs at least one candidate")
        if n_chosen is not None and not 1 <= n_chosen <= len(labels):
            raise ValueError(f"n_chosen must be between 1 and {len(labels)}, not {n_chosen}")
        self.labels = labels
        self.n_chosen = n_chosen

    def forward(self, inputs: Sequence[torch.Tensor]) -> Any:
        if len(inputs) != self.n_candidates:
            raise NasError(
                f"InputChoice {self.key!r} expects {self.n_candidates} inputs, got {len(inputs)}"
            )
        return self._bound_mutator().on_forward_input_choice(self, list(inputs))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, n_chosen={self.n_chosen}"


def reduce_outputs(outputs: list[Any], reduction: str) -> Any:
    """Combine the chosen branches' outputs; no branch at all gives None (``[]`` for none)."""
    if reduction == "none":
        return outputs
    if not outputs:
        return None
    if len(outputs) == 1:
        return outputs[0]
    if reduction == "concat":
        return torch.cat(outputs, dim=1)
    total = torch.stack(outputs).sum(dim=0)
    return total / len(outputs) if reduction == "mean" else total
