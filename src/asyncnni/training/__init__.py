"""Training services by platform: they start and stop trial jobs, and never choose parameters.

``service_class(platform)`` imports the one a config names. A platform lives in a module of
its own, imported only when an experiment uses it, so its extra (Ray, say) is needed only
then. To add one: subclass :class:`TrainingService` in ``training/<name>.py`` and add a
:class:`Platform` line to ``PLATFORMS``.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass

from .base import TrainingService, TrialEvent, TrialExit, TrialJob

__all__ = [
    "PLATFORMS",
    "Platform",
    "PlatformUnavailable",
    "TrainingService",
    "TrialEvent",
    "TrialExit",
    "TrialJob",
    "check_platform",
    "service_class",
]


@dataclass(frozen=True)
class Platform:
    name: str
    module: str  # under asyncnni.training
    class_name: str
    options: tuple[str, ...] = ()  # its own keys under training_service
    requires: tuple[str, ...] = ()  # modules it imports (what its extra installs)
    extra: str | None = None  # pip install 'asyncnni[extra]'


PLATFORMS: dict[str, Platform] = {
    platform.name: platform
    for platform in (
        Platform(
            "local",
            "local",
            "LocalTrainingService",
            options=("gpu_indices", "max_trial_number_per_gpu", "use_active_gpu", "trial_launcher"),
        ),
        Platform(
            "ray",
            "ray",
            "RayTrainingService",
            options=("address", "resources_per_trial", "runtime_env"),
            requires=("ray",),
            extra="ray",
        ),
    )
}


class PlatformUnavailable(LookupError):
    """A platform that is unknown, or whose extra is not installed."""


def check_platform(name: str) -> Platform:
    """The platform called ``name``, checked to be importable (without importing it)."""
    platform = PLATFORMS.get(name)
    if platform is None:
        raise PlatformUnavailable(
            f"unknown platform {name!r}; available: {', '.join(sorted(PLATFORMS))}"
        )
    missing = [m for m in platform.requires if importlib.util.find_spec(m) is None]
    if missing:
        raise PlatformUnavailable(
            f"platform {name!r} needs {', '.join(missing)}, which is not installed: "
            f"pip install 'asyncnni[{platform.extra}]'"
        )
    return platform


def service_class(name: str) -> type[TrainingService]:
    platform = check_platform(name)
    module = importlib.import_module(f"{__name__}.{platform.module}")
    return getattr(module, platform.class_name)
