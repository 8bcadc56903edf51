"""DARTS: architecture weights learned by gradient, alternating with the model's weights."""

from .mutator import DartsMutator
from .trainer import DartsTrainer

__all__ = ["DartsMutator", "DartsTrainer"]
