"""``nni.nas.pytorch.enas``."""

from asyncnni.nas.enas import EnasMutator, EnasTrainer

__all__ = ["EnasMutator", "EnasTrainer"]
