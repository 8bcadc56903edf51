"""ENAS: an LSTM controller samples architectures, rewarded by validation accuracy."""

from .mutator import EnasMutator
from .trainer import EnasTrainer

__all__ = ["EnasMutator", "EnasTrainer"]
