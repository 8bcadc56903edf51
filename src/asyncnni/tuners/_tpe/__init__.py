"""Tree-structured Parzen Estimator: the estimator (``parzen``) and the ask/tell optimiser."""

from .optimizer import TPEOptimizer
from .parzen import ParzenEstimator

__all__ = ["ParzenEstimator", "TPEOptimizer"]
