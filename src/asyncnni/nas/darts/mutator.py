"""DartsMutator: one learnable weight per candidate, mixed by softmax."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..mutator import Decision, Mutator, strongest


class DartsMutator(Mutator):
    """Every key gets a vector of architecture parameters ``alpha`` (this module's parameters).

    While searching, each mutable mixes all its candidates with weights softmax(alpha), so
    the loss is differentiable in alpha. The final architecture keeps the strongest
    candidates: the arg-max of a LayerChoice, the ``n_chosen`` largest weights of an
    InputChoice, or every input weighing at least the uniform 1/n where ``n_chosen`` is None.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model)
        # a list, not a ParameterDict: keys such as "cells.0.op" are not valid attribute names
        self.alphas = nn.ParameterList(
            [nn.Parameter(1e-3 * torch.randn(m.n_candidates)) for m in self.mutables]
        )

    def sample_search(self) -> Decision:
        return {
            m.key: F.softmax(alpha, dim=-1)
            for m, alpha in zip(self.mutables, self.alphas, strict=True)
        }

    def sample_final(self) -> Decision:
        with torch.no_grad():
            return {
                m.key: strongest(m, F.softmax(alpha, dim=-1), 1.0 / m.n_candidates)
                for m, alpha in zip(self.mutables, self.alphas, strict=True)
            }
