"""Built-in assessors, looked up by name: ``asyncnni.assessors.create("Medianstop", **class_args)``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..plugins import Registry

if TYPE_CHECKING:
    from ..assessor import Assessor

registry = Registry(
    "assessor",
    {
        "Medianstop": "asyncnni.assessors.medianstop:MedianstopAssessor",
        "Curvefitting": "asyncnni.assessors.curvefitting:CurvefittingAssessor",
    },
)


def create(name: str, **class_args: Any) -> Assessor:
    """A ready built-in assessor; raises PluginError for an unknown name or bad class_args."""
    return registry.create(name, **class_args)


def names() -> list[str]:
    return registry.names()
