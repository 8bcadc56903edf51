"""Gaussian-process Bayesian optimisation: the model (``model``) and the optimiser."""

from .model import MaternGP
from .optimizer import GPOptimizer

__all__ = ["GPOptimizer", "MaternGP"]
