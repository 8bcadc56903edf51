"""EnasTrainer: shared weights trained under sampled architectures, controller by REINFORCE."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from ..trainer import AverageMeters, OneShotTrainer, accuracy
from .mutator import EnasMutator

Reward = Callable[[torch.Tensor, torch.Tensor], float]


def _accuracy_reward(logits: torch.Tensor, target: torch.Tensor) -> float:
    return accuracy(logits, target)["acc"]


class EnasTrainer(OneShotTrainer):
    """ENAS: each epoch trains the model's shared weights under architectures sampled by the
    controller (one per batch), then takes ``ctrl_steps`` REINFORCE steps on the controller.

    The reward of a sampled architecture is ``reward_function(logits, target)`` (default:
    accuracy) on a batch held out of ``dataset_train`` (``arch_split`` of it), plus
    ``entropy_weight`` times the sample's entropy; a moving-average baseline
    (``baseline_decay``) reduces the variance. Each epoch's record adds ``train_reward``.
    ``mutator`` defaults to a new EnasMutator for ``model``; other keywords go to Trainer.
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
        mutator: EnasMutator | None = None,
        reward_function: Reward = _accuracy_reward,
        ctrl_lr: float = 3.5e-3,
        ctrl_steps: int = 20,
        entropy_weight: float = 1e-4,
        baseline_decay: float = 0.9,
        arch_split: float = 0.2,
        **trainer_kwargs: Any,
    ) -> None:
        super().__init__(
            model,
            mutator or EnasMutator(model),
            loss,
            optimizer,
            num_epochs,
            dataset_train,
            dataset_valid,
            arch_split=arch_split,
            arch_optimizer=lambda params: torch.optim.Adam(params, ctrl_lr),
            **trainer_kwargs,
        )
        self.reward_function = reward_function
        self.ctrl_steps = ctrl_steps
        self.entropy_weight = entropy_weight
        self.baseline_decay = baseline_decay
        self.baseline: float | None = None

    def train_one_epoch(self, epoch: int) -> dict[str, float]:
        return {**super().train_one_epoch(epoch), **self.train_controller()}

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        with torch.no_grad():  # the controller only samples here; it learns in train_controller
            self.mutator.reset()
        return self.weight_step(x, y)

    def train_controller(self) -> dict[str, float]:
        """``ctrl_steps`` REINFORCE steps; returns the mean reward."""
        self.model.eval()
        meters = AverageMeters()
        for _ in range(self.ctrl_steps):
            x, y = next(self.arch_batches)
            self.mutator.reset()
            with torch.no_grad():
                logits = self.model(x)
            reward = (
                self.reward_function(logits, y)
                + self.entropy_weight * self.mutator.sample_entropy.item()
            )
            if self.baseline is None:
                self.baseline = reward
            self.baseline = self.baseline_decay * self.baseline + (1 - self.baseline_decay) * reward
            self.arch_optimizer.zero_grad()
            (-self.mutator.sample_log_prob * (reward - self.baseline)).backward()
            self.arch_optimizer.step()
            meters.update({"reward": reward})
        self.model.train()
        return meters.averages()

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "baseline": self.baseline}

    def _load_state(self, state: dict[str, Any]) -> None:
        super()._load_state(state)
        self.baseline = state["baseline"]
