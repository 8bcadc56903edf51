"""Built-in tuners, looked up by name: ``asyncnni.tuners.create("TPE", **class_args)``."""

from __future__ import annotations

from typing import Any

from ..plugins import Registry
from ..tuner import Tuner

registry = Registry(
    "tuner",
    {
        "Random": "asyncnni.tuners.random:RandomTuner",
        "GridSearch": "asyncnni.tuners.grid:GridSearchTuner",
        "TPE": "asyncnni.tuners.tpe:TPETuner",
        "Anneal": "asyncnni.tuners.anneal:AnnealTuner",
        "Evolution": "asyncnni.tuners.evolution:EvolutionTuner",
        "Batch": "asyncnni.tuners.batch:BatchTuner",
        "BatchTuner": "asyncnni.tuners.batch:BatchTuner",
        "GP": "asyncnni.tuners.gp:GPTuner",
        "GPTuner": "asyncnni.tuners.gp:GPTuner",
        "PBT": "asyncnni.tuners.pbt:PBTTuner",
        "PBTTuner": "asyncnni.tuners.pbt:PBTTuner",
        "Hyperband": "asyncnni.tuners.hyperband:HyperbandTuner",
        "BOHB": "asyncnni.tuners.bohb:BOHBTuner",
        "ASHA": "asyncnni.tuners.asha:ASHATuner",
        "NASRandom": "asyncnni.tuners.nas_random:NASRandomTuner",
        "RandomNAS": "asyncnni.tuners.nas_random:NASRandomTuner",
        "NASEvolution": "asyncnni.tuners.nas_evolution:NASEvolutionTuner",
        "SPOSEvolution": "asyncnni.tuners.nas_evolution:NASEvolutionTuner",
    },
)


def create(name: str, **class_args: Any) -> Tuner:
    """A ready built-in tuner; raises PluginError for an unknown name or bad class_args."""
    return registry.create(name, **class_args)


def names() -> list[str]:
    return registry.names()
