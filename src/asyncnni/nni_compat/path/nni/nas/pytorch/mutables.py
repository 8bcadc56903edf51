"""``nni.nas.pytorch.mutables``: NNI 1.x's LayerChoice and InputChoice, with NNI's signatures."""

from asyncnni.nas.mutables import InputChoice, LayerChoice, Mutable

__all__ = ["InputChoice", "LayerChoice", "Mutable"]
