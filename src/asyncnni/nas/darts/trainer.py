"""DartsTrainer: first-order DARTS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from ..trainer import OneShotTrainer
from .mutator import DartsMutator


class DartsTrainer(OneShotTrainer):
    """First-order DARTS (Liu et al., 2019): every step first moves the architecture
    weights down the loss on a batch held out of ``dataset_train`` (``arch_split`` of it,
    Adam with ``arch_lr``), then the model's weights down the loss on a training batch.

    ``mutator`` defaults to a new DartsMutator for ``model``; other keywords go to Trainer.
    """

    def __init__(
        self,
        model: nn.Module,
        loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        optimizer: torch.optim.Optimizer,
        num_epochs: int,
        dataset_train: Dataset,
        dataset_valid: Dataset,
        *,
        mutator: DartsMutator | None = None,
        arch_lr: float = 3e-4,
        arch_weight_decay: float = 1e-3,
        arch_split: float = 0.5,
        grad_clip: float | None = 5.0,
        **trainer_kwargs: Any,
    ) -> None:
        super().__init__(
            model,
            mutator or DartsMutator(model),
            loss,
            optimizer,
            num_epochs,
            dataset_train,
            dataset_valid,
            arch_split=arch_split,
            arch_optimizer=lambda params: torch.optim.Adam(
                params, arch_lr, betas=(0.5, 0.999), weight_decay=arch_weight_decay
            ),
            grad_clip=grad_clip,
            **trainer_kwargs,
        )

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        ax, ay = next(self.arch_batches)
        self.arch_optimizer.zero_grad()
        self.mutator.reset()
        arch_loss = self.loss(self.model(ax), ay)
        arch_loss.backward()
        self.arch_optimizer.step()
        return {**super().train_step(x, y), "arch_loss": arch_loss.item()}
