"""Training services: they start and stop trial jobs, and never choose parameters."""

from .base import TrialExit, TrialJob

__all__ = ["TrialExit", "TrialJob"]
