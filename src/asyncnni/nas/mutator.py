"""Mutator: decisions per key, applied to the model's forward pass.

A decision maps each mutable key to a 1-D tensor with one entry per candidate:

- a BoolTensor chooses candidates: only the chosen ones are computed (modules called for a
  LayerChoice, tensors passed on for an InputChoice), then reduced with the mutable's
  reduction;
- a FloatTensor weighs them: every candidate is computed and multiplied by its weight
  before the reduction (DARTS mixes branches this way).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch

from .base_mutator import BaseMutator
from .errors import ArchitectureError, NasError
from .mutables import InputChoice, LayerChoice, Mutable, reduce_outputs

Decision = dict[str, torch.Tensor]


class Mutator(BaseMutator):
    """A mutator driven by decisions: subclasses implement ``sample_search`` and ``sample_final``.

    ``reset()`` samples a search decision and applies it to the model until the next
    ``reset()``; ``export()`` returns the final decision and leaves the model as it is.
    Both check the decision against the mutables (ArchitectureError naming the key).
    """

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__(model)
        self._decision: Decision | None = None

    def sample_search(self) -> Decision:
        """A decision to train with (called by ``reset``)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement sample_search")

    def sample_final(self) -> Decision:
        """The decision to keep at the end of the search (called by ``export``)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement sample_final")

    def reset(self) -> None:
        """Sample a search decision; the model computes with it until the next reset."""
        self._decision = self.check(self.sample_search())

    def export(self) -> Decision:
        return self.check(self.sample_final())

    def check(self, decision: Mapping[str, torch.Tensor]) -> Decision:
        """``decision`` as a dict, after checking that it fits this model's mutables."""
        return check_decision({m.key: m for m in self.mutables}, decision)

    def on_forward_layer_choice(self, mutable: LayerChoice, *args: Any, **kwargs: Any) -> Any:
        outputs = _select(self.mask(mutable), mutable.candidates, lambda op: op(*args, **kwargs))
        return reduce_outputs(outputs, mutable.reduction)

    def on_forward_input_choice(self, mutable: InputChoice, tensors: list[torch.Tensor]) -> Any:
        return reduce_outputs(_select(self.mask(mutable), tensors, lambda t: t), mutable.reduction)

    def mask(self, mutable: Mutable) -> torch.Tensor:
        """The decision in force for ``mutable``'s key."""
        if self._decision is None:
            raise NasError(f"{type(self).__name__}: call reset() before the model's forward pass")
        return self._decision[mutable.key]


def _select(mask: torch.Tensor, candidates: Iterable[Any], compute: Callable[[Any], Any]) -> list:
    if mask.dtype == torch.bool:
        return [compute(c) for c, chosen in zip(candidates, mask.tolist(), strict=True) if chosen]
    return [compute(c) * weight for c, weight in zip(candidates, mask, strict=True)]


def check_decision(mutables: Mapping[str, Mutable], decision: Mapping[str, Any]) -> Decision:
    """Check a decision for ``mutables`` (key -> mutable): every key present, none unknown,
    one entry per candidate, bool or float, and for a BoolTensor at least one chosen
    candidate of a LayerChoice and exactly ``n_chosen`` of an InputChoice that sets it."""
    unknown = [key for key in decision if key not in mutables]
    if unknown:
        raise ArchitectureError(
            f"unknown mutable key {unknown[0]!r}; the model has {list(mutables)}"
        )
    missing = [key for key in mutables if key not in decision]
    if missing:
        raise ArchitectureError(f"no decision for mutable key {missing[0]!r}")
    for key, mask in decision.items():
        mutable = mutables[key]
        if not isinstance(mask, torch.Tensor) or mask.shape != (mutable.n_candidates,):
            raise ArchitectureError(
                f"decision for {key!r} must be a 1-D tensor of {mutable.n_candidates} entries, "
                f"got {mask!r}"
            )
        if mask.dtype != torch.bool and not mask.dtype.is_floating_point:
            raise ArchitectureError(f"decision for {key!r} must be bool or float, not {mask.dtype}")
        if mask.dtype == torch.bool:
            _check_count(key, mutable, int(mask.sum()))
    return dict(decision)


def _check_count(key: str, mutable: Mutable, chosen: int) -> None:
    n_chosen = getattr(mutable, "n_chosen", None)
    if isinstance(mutable, LayerChoice) and chosen < 1:
        raise ArchitectureError(f"decision for LayerChoice {key!r} chooses no candidate")
    if n_chosen is not None and chosen != n_chosen:
        raise ArchitectureError(
            f"decision for InputChoice {key!r} chooses {chosen} inputs, n_chosen is {n_chosen}"
        )


def choice_mask(n_candidates: int, chosen: Iterable[int]) -> torch.Tensor:
    """A BoolTensor of ``n_candidates`` entries, True at the ``chosen`` indices."""
    mask = torch.zeros(n_candidates, dtype=torch.bool)
    mask[list(chosen)] = True
    return mask


def strongest(mutable: Mutable, scores: torch.Tensor, threshold: float) -> torch.Tensor:
    """The final choice from one score per candidate: the best one of a LayerChoice, the
    ``n_chosen`` best inputs of an InputChoice, or every input scoring at least
    ``threshold`` where ``n_chosen`` is None."""
    if isinstance(mutable, InputChoice) and mutable.n_chosen is None:
        return scores >= threshold
    k = mutable.n_chosen if isinstance(mutable, InputChoice) else 1
    return choice_mask(mutable.n_candidates, torch.topk(scores, k).indices.tolist())


def decision_to_json(decision: Mapping[str, torch.Tensor]) -> dict[str, list]:
    """A decision as JSON-able lists (bools or floats); ``apply_fixed_architecture`` takes it back."""
    return {key: mask.detach().cpu().tolist() for key, mask in decision.items()}
