"""``nni.nas.pytorch.base_mutator``."""

from asyncnni.nas.base_mutator import BaseMutator

__all__ = ["BaseMutator"]
