"""Built-in tuners, looked up by name: ``asyncnni.tuners.create("TPE", **class_args)``."""

from __future__ import annotations

from typing import Any

from ..plugins import Registry
from ..tuner import Tuner

# NNI 3.0's built-in names (and aliases) first, then asyncnni's own; names NNI has that
# cannot be had here are refused saying why
registry = Registry(
    "tuner",
    {
        "Random": "asyncnni.tuners.random:RandomTuner",
        "GridSearch": "asyncnni.tuners.grid:GridSearchTuner",
        "TPE": "asyncnni.tuners.tpe:TPETuner",
        "TPE_legacy": "asyncnni.tuners.tpe:TPETuner",
        "Anneal": "asyncnni.tuners.anneal:AnnealTuner",
        "Evolution": "asyncnni.tuners.evolution:EvolutionTuner",
        "RegularizedEvolutionTuner": "asyncnni.tuners.evolution:RegularizedEvolutionTuner",
        "SMAC": "asyncnni.tuners.smac:SMACTuner",
        "SMACTuner": "asyncnni.tuners.smac:SMACTuner",
        "Metis": "asyncnni.tuners.metis:MetisTuner",
        "MetisTuner": "asyncnni.tuners.metis:MetisTuner",
        "Batch": "asyncnni.tuners.batch:BatchTuner",
        "BatchTuner": "asyncnni.tuners.batch:BatchTuner",
        "GP": "asyncnni.tuners.gp:GPTuner",
        "GPTuner": "asyncnni.tuners.gp:GPTuner",
        "PBT": "asyncnni.tuners.pbt:PBTTuner",
        "PBTTuner": "asyncnni.tuners.pbt:PBTTuner",
        "Hyperband": "asyncnni.tuners.hyperband:HyperbandTuner",
        "BOHB": "asyncnni.tuners.bohb:BOHBTuner",
        "ASHA": "asyncnni.tuners.asha:ASHATuner",
        "PPOTuner": "asyncnni.tuners.ppo:PPOTuner",
        "PPO": "asyncnni.tuners.ppo:PPOTuner",
        "NASRandom": "asyncnni.tuners.nas_random:NASRandomTuner",
        "RandomNAS": "asyncnni.tuners.nas_random:NASRandomTuner",
        "NASEvolution": "asyncnni.tuners.nas_evolution:NASEvolutionTuner",
        "SPOSEvolution": "asyncnni.tuners.nas_evolution:NASEvolutionTuner",
    },
    unavailable={
        "DNGO": "NNI's DNGO needs pybnn, unmaintained since 2019; use GP or TPE",
        "DNGOTuner": "NNI's DNGO needs pybnn, unmaintained since 2019; use GP or TPE",
        "NetworkMorphism": "it generates Keras/PyTorch graphs for NNI's own trial format; use NAS spaces with NASEvolution",
    },
)


def create(name: str, **class_args: Any) -> Tuner:
    """A ready built-in tuner; raises PluginError for an unknown name or bad class_args."""
    return registry.create(name, **class_args)


def names() -> list[str]:
    return registry.names()


def unavailable(name: str) -> str | None:
    """Why a tuner NNI has cannot be had here, or None."""
    return registry.unavailable(name)
