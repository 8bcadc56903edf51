"""Trainer: the loop one-shot NAS needs, for users to extend by subclassing or copying.

The base class trains a supernet single-path style (SPOS): ``mutator.reset()`` before
every batch, one optimiser step on the model's weights. DARTS and ENAS subclass it and
add their architecture updates.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, random_split

from .mutator import Mutator, decision_to_json

logger = logging.getLogger("asyncnni.nas")

Metrics = Callable[[torch.Tensor, torch.Tensor], dict[str, float]]


def accuracy(logits: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """``{"acc": fraction of rows whose arg-max is the target}``."""
    return {"acc": (logits.argmax(dim=1) == target).float().mean().item()}


def split_dataset(dataset: Dataset, fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """``dataset`` split at random into (the rest, ``fraction`` of it); the same split per seed."""
    size = len(dataset)  # type: ignore[arg-type]
    part = round(size * fraction)
    if not 0 < part < size:
        raise ValueError(f"cannot split {size} samples into {fraction:.0%} and the rest")
    rest, held = random_split(dataset, [size - part, part], torch.Generator().manual_seed(seed))
    return rest, held


class AverageMeters:
    """Running means of named figures, weighted by batch size."""

    def __init__(self) -> None:
        self._sums: dict[str, float] = {}
        self._counts: dict[str, int] = {}

    def update(self, figures: dict[str, float], n: int = 1) -> None:
        for name, value in figures.items():
            self._sums[name] = self._sums.get(name, 0.0) + float(value) * n
            self._counts[name] = self._counts.get(name, 0) + n

    def averages(self) -> dict[str, float]:
        return {name: total / self._counts[name] for name, total in self._sums.items()}


class Trainer:
    """Trains ``model`` (bound to ``mutator``) for ``num_epochs`` and records each epoch.

    ``train()`` returns the history: one dict per epoch with ``epoch``, ``train_loss`` and
    ``train_<metric>`` (plus what subclasses add) and, when validating, ``valid_loss`` and
    ``valid_<metric>``. ``metrics(logits, target)`` returns named floats (default: acc).
    Batches come in the same order for the same ``seed``. With ``checkpoint_dir`` every
    epoch writes ``epoch_<n>.pt`` (model, mutator and optimiser state) and ``arch_<n>.json``
    (the exported architecture); ``load_checkpoint`` resumes from one. ``log_frequency``
    logs every that many steps to the ``asyncnni.nas`` logger (epochs are always logged).
    """

    def __init__(
        self,
        model: nn.Module,
        mutator: Mutator,
        loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        optimizer: torch.optim.Optimizer,
        num_epochs: int,
        dataset_train: Dataset,
        dataset_valid: Dataset,
        *,
        metrics: Metrics = accuracy,
        batch_size: int = 64,
        grad_clip: float | None = None,
        log_frequency: int | None = None,
        checkpoint_dir: str | Path | None = None,
        seed: int = 0,
        device: str | torch.device = "cpu",
    ) -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device)
        self.mutator = mutator.to(self.device)
        self.loss = loss
        self.optimizer = optimizer
        self.num_epochs = num_epochs
        self.metrics = metrics
        self.batch_size = batch_size
        self.grad_clip = grad_clip
        self.log_frequency = log_frequency
        self.checkpoint_dir = None if checkpoint_dir is None else Path(checkpoint_dir)
        self.seed = seed
        self.start_epoch = 0
        self.history: list[dict[str, float]] = []
        self.train_loader = self.loader(dataset_train, shuffle=True)
        self.valid_loader = self.loader(dataset_valid, shuffle=False)

    def loader(self, dataset: Dataset, shuffle: bool) -> DataLoader:
        """A DataLoader over ``dataset`` whose order depends only on ``seed``."""
        generator = torch.Generator().manual_seed(self.seed)
        return DataLoader(dataset, batch_size=self.batch_size, shuffle=shuffle, generator=generator)

    def batches_forever(self, loader: DataLoader) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Batches of ``loader``, epoch after epoch, on the trainer's device."""
        while True:
            for x, y in loader:
                yield x.to(self.device), y.to(self.device)

    def train(self, validate: bool = True) -> list[dict[str, float]]:
        """Train the remaining epochs; returns the whole history."""
        for epoch in range(self.start_epoch, self.num_epochs):
            record: dict[str, float] = {"epoch": epoch}
            record.update({f"train_{k}": v for k, v in self.train_one_epoch(epoch).items()})
            if validate:
                record.update({f"valid_{k}": v for k, v in self.validate_one_epoch(epoch).items()})
            self.history.append(record)
            logger.info("epoch %d/%d %s", epoch + 1, self.num_epochs, _figures(record))
            self.start_epoch = epoch + 1
            if self.checkpoint_dir is not None:
                self.save_checkpoint(self.checkpoint_dir / f"epoch_{epoch}.pt")
                self.export(self.checkpoint_dir / f"arch_{epoch}.json")
        return self.history

    def train_one_epoch(self, epoch: int) -> dict[str, float]:
        """One pass over the training data, ``train_step`` per batch; returns mean figures."""
        self.model.train()
        meters = AverageMeters()
        for step, (x, y) in enumerate(self.train_loader):
            x, y = x.to(self.device), y.to(self.device)
            meters.update(self.train_step(x, y), n=len(y))
            if self.log_frequency and (step + 1) % self.log_frequency == 0:
                logger.info(
                    "epoch %d step %d/%d %s",
                    epoch + 1,
                    step + 1,
                    len(self.train_loader),
                    _figures(meters.averages()),
                )
        return meters.averages()

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        """Sample an architecture and take one optimiser step on the model's weights."""
        self.mutator.reset()
        return self.weight_step(x, y)

    def weight_step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        """One optimiser step on the model's weights, under the mutator's current decision."""
        self.optimizer.zero_grad()
        logits = self.model(x)
        loss = self.loss(logits, y)
        loss.backward()
        if self.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.optimizer.step()
        return {"loss": loss.item(), **self.metrics(logits.detach(), y)}

    def validate_one_epoch(self, epoch: int) -> dict[str, float]:
        """Loss and metrics on the validation data, ``mutator.reset()`` per batch, no updates."""
        self.model.eval()
        meters = AverageMeters()
        with torch.no_grad():
            for x, y in self.valid_loader:
                x, y = x.to(self.device), y.to(self.device)
                self.mutator.reset()
                logits = self.model(x)
                meters.update(
                    {"loss": self.loss(logits, y).item(), **self.metrics(logits, y)}, len(y)
                )
        return meters.averages()

    def export(self, file: str | Path | None = None) -> dict[str, list]:
        """The mutator's final architecture as JSON-able lists, also written to ``file``."""
        architecture = decision_to_json(self.mutator.export())
        if file is not None:
            Path(file).write_text(json.dumps(architecture, indent=2) + "\n")
        return architecture

    def save_checkpoint(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(self._state(), path)

    def load_checkpoint(self, path: str | Path) -> None:
        """Restore a checkpoint; ``train()`` then goes on with the epoch after it."""
        state = torch.load(path, map_location=self.device, weights_only=True)
        self._load_state(state)

    def _state(self) -> dict[str, Any]:
        """What a checkpoint holds; subclasses add their own optimisers' state."""
        return {
            "next_epoch": self.start_epoch,
            "history": self.history,
            "model": self.model.state_dict(),
            "mutator": self.mutator.state_dict(),
            "optimizer": self.optimizer.state_dict(),
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        self.start_epoch = state["next_epoch"]
        self.history = state["history"]
        self.model.load_state_dict(state["model"])
        self.mutator.load_state_dict(state["mutator"])
        self.optimizer.load_state_dict(state["optimizer"])


class OneShotTrainer(Trainer):
    """The base of DARTS and ENAS: ``arch_split`` of ``dataset_train`` is held out for the
    architecture's updates (``arch_batches``, endless), which ``arch_optimizer`` (made by
    the given factory over the mutator's parameters) applies; checkpoints keep its state.
    """

    def __init__(
        self,
        model: nn.Module,
        mutator: Mutator,
        loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        optimizer: torch.optim.Optimizer,
        num_epochs: int,
        dataset_train: Dataset,
        dataset_valid: Dataset,
        *,
        arch_split: float,
        arch_optimizer: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer],
        **trainer_kwargs: Any,
    ) -> None:
        train_part, arch_part = split_dataset(
            dataset_train, arch_split, trainer_kwargs.get("seed", 0)
        )
        super().__init__(
            model, mutator, loss, optimizer, num_epochs, train_part, dataset_valid, **trainer_kwargs
        )
        self.arch_optimizer = arch_optimizer(self.mutator.parameters())
        self.arch_batches = self.batches_forever(self.loader(arch_part, shuffle=True))

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "arch_optimizer": self.arch_optimizer.state_dict()}

    def _load_state(self, state: dict[str, Any]) -> None:
        super()._load_state(state)
        self.arch_optimizer.load_state_dict(state["arch_optimizer"])


def _figures(record: dict[str, float]) -> str:
    return " ".join(f"{k} {v:.4f}" for k, v in record.items() if k != "epoch")
