"""Training services by platform: they start and stop trial jobs, and never choose parameters.

``service_class(platform)`` imports the one a config names. A platform lives in a module of
its own, imported only when an experiment uses it, so its extra (Ray, say) is needed only
then. To add one: subclass :class:`TrainingService` in ``training/<name>.py`` and add a
:class:`Platform` line to ``PLATFORMS`` in :mod:`.platforms`.
"""

from .base import Cancellable, Clock, TrainingService, TrialEvent, TrialExit, TrialJob
from .platforms import PLATFORMS, Platform, PlatformUnavailable, check_platform, service_class

__all__ = [
    "PLATFORMS",
    "Cancellable",
    "Clock",
    "Platform",
    "PlatformUnavailable",
    "TrainingService",
    "TrialEvent",
    "TrialExit",
    "TrialJob",
    "check_platform",
    "service_class",
]
