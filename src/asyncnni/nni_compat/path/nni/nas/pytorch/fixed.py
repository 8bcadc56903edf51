"""``nni.nas.pytorch.fixed``: apply a tuner's architecture to a model in a classic NAS trial."""

from asyncnni.nas.fixed import FixedArchitecture, apply_fixed_architecture

__all__ = ["FixedArchitecture", "apply_fixed_architecture"]
