"""EnasMutator: an LSTM controller that decides the mutables one after the other."""

from __future__ import annotations

import torch
from torch import nn
from torch.distributions import Bernoulli, Categorical

from ..mutables import InputChoice, Mutable
from ..mutator import Decision, Mutator, strongest


class EnasMutator(Mutator):
    """The controller (this module's parameters) of ENAS (Pham et al., 2018).

    An LSTM cell steps through the mutables in model order; at each step a linear head
    scores the candidates, a decision is drawn, and the embedding of what was chosen feeds
    the next step. A LayerChoice draws one candidate, an InputChoice ``n_chosen`` inputs
    without replacement, or each input independently where ``n_chosen`` is None.

    ``sample_search`` draws and sets ``sample_log_prob`` and ``sample_entropy`` (tensors
    with gradients, for the REINFORCE update); ``sample_final`` takes the most likely
    choices instead of drawing.
    """

    def __init__(
        self, model: nn.Module, lstm_size: int = 32, tanh_constant: float | None = 1.5
    ) -> None:
        super().__init__(model)
        self.tanh_constant = tanh_constant
        self.lstm = nn.LSTMCell(lstm_size, lstm_size)
        self.start = nn.Parameter(torch.zeros(1, lstm_size))
        self.heads = nn.ModuleList([nn.Linear(lstm_size, m.n_candidates) for m in self.mutables])
        self.embeddings = nn.ModuleList(
            [nn.Embedding(m.n_candidates, lstm_size) for m in self.mutables]
        )
        self.sample_log_prob = torch.tensor(0.0)
        self.sample_entropy = torch.tensor(0.0)

    def sample_search(self) -> Decision:
        decision, self.sample_log_prob, self.sample_entropy = self._run(greedy=False)
        return decision

    def sample_final(self) -> Decision:
        with torch.no_grad():
            return self._run(greedy=True)[0]

    def _run(self, greedy: bool) -> tuple[Decision, torch.Tensor, torch.Tensor]:
        hidden = torch.zeros_like(self.start)
        state = (hidden, hidden)
        step_input = self.start
        decision: Decision = {}
        log_prob = entropy = torch.zeros((), device=self.start.device)
        for mutable, head, embedding in zip(
            self.mutables, self.heads, self.embeddings, strict=True
        ):
            state = self.lstm(step_input, state)
            logits = head(state[0]).squeeze(0)
            if self.tanh_constant is not None:  # keeps the controller from saturating early
                logits = self.tanh_constant * torch.tanh(logits)
            mask, step_log_prob, step_entropy = self._choose(mutable, logits, greedy)
            decision[mutable.key] = mask
            log_prob = log_prob + step_log_prob
            entropy = entropy + step_entropy
            chosen = mask.nonzero().flatten()
            step_input = embedding(chosen).mean(0, keepdim=True) if len(chosen) else self.start
        return decision, log_prob, entropy

    @staticmethod
    def _choose(mutable: Mutable, logits: torch.Tensor, greedy: bool) -> tuple[torch.Tensor, ...]:
        if isinstance(mutable, InputChoice) and mutable.n_chosen is None:
            independent = Bernoulli(logits=logits)
            mask = strongest(mutable, logits, 0.0) if greedy else independent.sample().bool()
            return mask, independent.log_prob(mask.float()).sum(), independent.entropy().sum()
        if greedy:
            return strongest(mutable, logits, 0.0), torch.zeros(()), torch.zeros(())
        k = mutable.n_chosen if isinstance(mutable, InputChoice) else 1
        mask = torch.zeros(mutable.n_candidates, dtype=torch.bool, device=logits.device)
        log_prob = entropy = torch.zeros((), device=logits.device)
        for _ in range(k):  # without replacement: a chosen input cannot be drawn again
            draw = Categorical(logits=logits.masked_fill(mask, float("-inf")))
            index = draw.sample()
            log_prob = log_prob + draw.log_prob(index)
            entropy = entropy + draw.entropy()
            mask = mask.clone()
            mask[index] = True
        return mask, log_prob, entropy
