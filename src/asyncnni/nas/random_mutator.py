"""RandomMutator: a uniformly random architecture at every reset."""

from __future__ import annotations

import torch
from torch import nn

from .mutables import InputChoice, Mutable
from .mutator import Decision, Mutator, choice_mask


class RandomMutator(Mutator):
    """Samples each key uniformly: one candidate of a LayerChoice, ``n_chosen`` inputs of an
    InputChoice (any subset, the empty one included, when ``n_chosen`` is None).

    With ``seed`` it draws from its own generator, so the sequence of architectures is
    the same on every run whatever else uses torch's global generator.
    """

    def __init__(self, model: nn.Module, seed: int | None = None) -> None:
        super().__init__(model)
        self._generator = None if seed is None else torch.Generator().manual_seed(seed)

    def sample_search(self) -> Decision:
        return {m.key: self._sample(m) for m in self.mutables}

    def sample_final(self) -> Decision:
        return self.sample_search()

    def _sample(self, mutable: Mutable) -> torch.Tensor:
        n = mutable.n_candidates
        if isinstance(mutable, InputChoice) and mutable.n_chosen is None:
            return torch.randint(0, 2, (n,), generator=self._generator).bool()
        k = mutable.n_chosen if isinstance(mutable, InputChoice) else 1
        return choice_mask(n, torch.randperm(n, generator=self._generator)[:k].tolist())
