"""BaseMutator: binds one model and finds its mutables; subclasses decide their forward pass."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .errors import NasError
from .mutables import InputChoice, LayerChoice, Mutable


def group_mutables(model: nn.Module) -> dict[str, list[Mutable]]:
    """The model's mutables grouped by key, in the order the model registers them.

    A mutable without a key is keyed by its dotted path in the model. Mutables sharing a
    key must agree on type, number of candidates and ``n_chosen``, since they share one
    decision; a mismatch raises NasError naming the key.
    """
    groups: dict[str, list[Mutable]] = {}
    for path, module in model.named_modules():
        if isinstance(module, Mutable):
            groups.setdefault(module.key or path, []).append(module)
    for key, (first, *others) in groups.items():
        for other in others:
            if (
                type(other) is not type(first)
                or other.n_candidates != first.n_candidates
                or getattr(other, "n_chosen", None) != getattr(first, "n_chosen", None)
            ):
                raise NasError(
                    f"mutables sharing key {key!r} differ ({first!r} vs {other!r}); "
                    "a shared key needs the same kind, number of candidates and n_chosen"
                )
    return groups


class BaseMutator(nn.Module):
    """Decides, for one model, what each of its mutables computes.

    The model is bound at construction, for good: every mutable in it refers to this
    mutator, and a second mutator for the same model (or for a model sharing a mutable
    with it) raises NasError. ``mutables`` lists one mutable per key, in model order.

    Advanced users subclass this and override ``on_forward_layer_choice`` and
    ``on_forward_input_choice``; most subclass :class:`~asyncnni.nas.Mutator` instead,
    which turns a decision per key into those forward passes.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        groups = group_mutables(model)
        for members in groups.values():  # refuse before binding anything
            for mutable in members:
                mutable._check_unbound()
        for key, members in groups.items():
            for mutable in members:
                mutable._attach(self, key)
        # not registered as a submodule: the mutator's parameters are its own (e.g. DARTS alphas)
        object.__setattr__(self, "_model", model)
        self.mutables: list[Mutable] = [members[0] for members in groups.values()]

    @property
    def model(self) -> nn.Module:
        return self._model

    def on_forward_layer_choice(self, mutable: LayerChoice, *args: Any, **kwargs: Any) -> Any:
        """The output of ``mutable`` called with ``args``."""
        raise NotImplementedError(
            f"{type(self).__name__} does not implement on_forward_layer_choice"
        )

    def on_forward_input_choice(self, mutable: InputChoice, tensors: list[torch.Tensor]) -> Any:
        """The output of ``mutable`` given its candidate ``tensors``."""
        raise NotImplementedError(
            f"{type(self).__name__} does not implement on_forward_input_choice"
        )

    def mask(self, mutable: Mutable) -> torch.Tensor:
        """What ``mutable`` computed with (its decision), for a mutable with ``return_mask``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement mask")

    def export(self) -> dict[str, torch.Tensor]:
        """The final architecture, one decision per key; the model is left as it is."""
        raise NotImplementedError(f"{type(self).__name__} does not implement export")
