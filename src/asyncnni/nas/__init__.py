"""Neural architecture search on torch models: the only part of asyncnni that imports torch.

Names load on first use, so ``from asyncnni.nas.ssgen import register_cli`` (what the CLI
does) does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
    from .base_mutator import BaseMutator
    from .darts import DartsMutator, DartsTrainer
    from .enas import EnasMutator, EnasTrainer
    from .errors import ArchitectureError, NasError
    from .fixed import FixedArchitecture, apply_fixed_architecture
    from .mutables import InputChoice, LayerChoice, Mutable
    from .mutator import Mutator, decision_to_json
    from .random_mutator import RandomMutator
    from .ssgen import generate_search_space, search_space
    from .trainer import OneShotTrainer, Trainer

__getattr__ = lazy_attributes(
    __name__,
    {
        "ArchitectureError": "errors",
        "BaseMutator": "base_mutator",
        "DartsMutator": "darts",
        "DartsTrainer": "darts",
        "EnasMutator": "enas",
        "EnasTrainer": "enas",
        "FixedArchitecture": "fixed",
        "InputChoice": "mutables",
        "LayerChoice": "mutables",
        "Mutable": "mutables",
        "Mutator": "mutator",
        "NasError": "errors",
        "OneShotTrainer": "trainer",
        "RandomMutator": "random_mutator",
        "Trainer": "trainer",
        "apply_fixed_architecture": "fixed",
        "decision_to_json": "mutator",
        "generate_search_space": "ssgen",
        "search_space": "ssgen",
    },
)


__all__ = [
    "ArchitectureError",
    "BaseMutator",
    "DartsMutator",
    "DartsTrainer",
    "EnasMutator",
    "EnasTrainer",
    "FixedArchitecture",
    "InputChoice",
    "LayerChoice",
    "Mutable",
    "Mutator",
    "NasError",
    "OneShotTrainer",
    "RandomMutator",
    "Trainer",
    "apply_fixed_architecture",
    "decision_to_json",
    "generate_search_space",
    "search_space",
]
