"""Errors of the NAS package; each message names the mutable key at fault."""

from __future__ import annotations

from ..errors import AsyncNNIError


class NasError(AsyncNNIError):
    """Mutables or mutators used the wrong way (unbound, bound twice, mismatched keys)."""


class ArchitectureError(NasError, ValueError):
    """A decision or fixed architecture does not fit the model's mutables."""
