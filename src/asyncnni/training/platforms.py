"""The registry of training services by ``training_service.platform``: data and look-ups
only, so the config can check a platform without importing any service."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any


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
            options=(
                "gpu_indices",
                "max_trial_number_per_gpu",
                "use_active_gpu",
                "trial_launcher",
            ),
        ),
        Platform(
            "ray",
            "ray",
            "RayTrainingService",
            options=("address", "resources_per_trial", "runtime_env"),
            requires=("ray",),
            extra="ray",
        ),
        Platform(
            "simulated",
            "simulated",
            "SimulatedTrainingService",
            options=("function", "cost_per_unit", "max_budget"),
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


def service_class(name: str) -> type[Any]:
    """The TrainingService subclass of platform ``name`` (its module is imported now)."""
    platform = check_platform(name)
    module = importlib.import_module(f"{__package__}.{platform.module}")
    return getattr(module, platform.class_name)
