"""``nni.nas.pytorch.trainer``."""

from asyncnni.nas.trainer import Trainer

__all__ = ["Trainer"]
