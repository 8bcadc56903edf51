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
    ``labels`` are the candidates' names, as the search space lists them. With
    ``return_mask`` the forward pass returns ``(output, mask)``, the mask being the decision
    for this key (a BoolTensor of the chosen candidates, or the weights), as in NNI.
    """

    def __init__(self, key: str | None, reduction: str, return_mask: bool = False) -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {', '.join(REDUCTIONS)}, not {reduction!r}")
        if key is not None and not (isinstance(key, str) and key):
            raise ValueError(f"a mutable's key must be a non-empty string, not {key!r}")
        self.key = key
        self.reduction = reduction
        self.return_mask = bool(return_mask)
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

    def _answer(self, output: Any) -> Any:
        return (output, self._bound_mutator().mask(self)) if self.return_mask else output

    def extra_repr(self) -> str:
        return f"key={self.key!r}, reduction={self.reduction!r}"


class LayerChoice(Mutable):
    """Computes the chosen candidate module(s) on the same input and reduces their outputs.

    NNI's signature: ``LayerChoice(op_candidates, reduction="sum", return_mask=False,
    key=None)``; ``candidates=`` is accepted for ``op_candidates``. The candidates are a list
    of modules (labelled by their one-line repr) or a mapping from label to module.
    ``reduction`` combines several chosen outputs: ``sum``, ``mean``, ``concat`` (along
    dimension 1) or ``none`` (a list).
    """

    def __init__(
        self,
        op_candidates: Sequence[nn.Module] | Mapping[str, nn.Module] | None = None,
        reduction: str = "sum",
        return_mask: bool = False,
        key: str | None = None,
        *,
        candidates: Sequence[nn.Module] | Mapping[str, nn.Module] | None = None,
    ) -> None:
        super().__init__(key, reduction, return_mask)
        if (op_candidates is None) == (candidates is None):
            raise ValueError("LayerChoice takes its candidates once: op_candidates (or candidates)")
        given = op_candidates if candidates is None else candidates
        if isinstance(given, Mapping):
            labels, modules = [str(k) for k in given], list(given.values())
        else:
            modules = list(given)
            labels = [" ".join(repr(m).split()) for m in modules]
        if not modules:
            raise ValueError("LayerChoice needs at least one candidate")
        self.candidates = nn.ModuleList(modules)
        self.labels = labels

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self._answer(self._bound_mutator().on_forward_layer_choice(self, *args, **kwargs))


class InputChoice(Mutable):
    """Chooses ``n_chosen`` of its input tensors and reduces them.

    NNI's signature: ``InputChoice(n_candidates=None, choose_from=None, n_chosen=None,
    reduction="sum", return_mask=False, key=None)``. ``choose_from`` names the inputs (the
    keys of the layers they come from; NNI's ``InputChoice.NO_KEY``, ``""``, for an unnamed
    one); without it the ``n_candidates`` inputs are labelled ``"0"``, ``"1"``, ... The first
    argument may also be the list of names, and ``candidates=`` either form (asyncnni's
    earlier spelling). ``n_chosen=None`` lets the decision take any number of inputs, none
    included: then the result is None (an empty list with ``reduction="none"``), as in NNI.
    The forward pass takes a list of tensors in that order, or a dict keyed by ``choose_from``.
    """

    NO_KEY = ""

    def __init__(
        self,
        n_candidates: int | Sequence[str] | None = None,
        choose_from: Sequence[str] | None = None,
        n_chosen: int | None = None,
        reduction: str = "sum",
        return_mask: bool = False,
        key: str | None = None,
        *,
        candidates: int | Sequence[str] | None = None,
    ) -> None:
        super().__init__(key, reduction, return_mask)
        if candidates is not None:
            if n_candidates is not None:
                raise ValueError("give n_candidates or candidates, not both")
            n_candidates = candidates
        if n_candidates is not None and not isinstance(n_candidates, int):
            if choose_from is not None:
                raise ValueError("give the names of the inputs once (choose_from)")
            n_candidates, choose_from = None, n_candidates
        if choose_from is not None:
            if isinstance(choose_from, str) or not isinstance(choose_from, Sequence):
                raise ValueError(f"choose_from must be a list of names, not {choose_from!r}")
            labels = [str(c) for c in choose_from]
            if n_candidates is not None and n_candidates != len(labels):
                raise ValueError(
                    f"n_candidates is {n_candidates} but choose_from names {len(labels)} inputs"
                )
        elif isinstance(n_candidates, int) and not isinstance(n_candidates, bool):
            labels = [str(i) for i in range(n_candidates)]
        else:
            raise ValueError("InputChoice needs n_candidates or choose_from")
        if not labels:
            raise ValueError("InputChoice needs at least one candidate")
        if n_chosen is not None and not 1 <= n_chosen <= len(labels):
            raise ValueError(f"n_chosen must be between 1 and {len(labels)}, not {n_chosen}")
        self.labels = labels
        self.choose_from = labels if choose_from is not None else None
        self.n_chosen = n_chosen

    def forward(self, inputs: Sequence[torch.Tensor] | Mapping[str, torch.Tensor]) -> Any:
        if isinstance(inputs, Mapping):
            inputs = self._ordered(inputs)
        if len(inputs) != self.n_candidates:
            raise NasError(
                f"InputChoice {self.key!r} expects {self.n_candidates} inputs, got {len(inputs)}"
            )
        return self._answer(self._bound_mutator().on_forward_input_choice(self, list(inputs)))

    def _ordered(self, inputs: Mapping[str, torch.Tensor]) -> list[torch.Tensor]:
        if self.choose_from is None or set(inputs) != set(self.choose_from):
            raise NasError(
                f"InputChoice {self.key!r}: a dict of inputs must be keyed by choose_from "
                f"{self.choose_from}, got {sorted(inputs)}"
            )
        return [inputs[name] for name in self.choose_from]

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
