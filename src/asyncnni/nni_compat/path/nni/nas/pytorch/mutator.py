"""``nni.nas.pytorch.mutator``: a mutator driven by decisions (``sample_search`` /
``sample_final``), as in NNI 1.x."""

from asyncnni.nas.mutator import Mutator

__all__ = ["Mutator"]
