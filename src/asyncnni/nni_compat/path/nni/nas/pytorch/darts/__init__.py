"""``nni.nas.pytorch.darts``."""

from asyncnni.nas.darts import DartsMutator, DartsTrainer

__all__ = ["DartsMutator", "DartsTrainer"]
