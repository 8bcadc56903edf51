"""``nni.nas.pytorch.random``."""

from asyncnni.nas.random_mutator import RandomMutator

__all__ = ["RandomMutator"]
