"""asyncnni: hyperparameter optimisation and neural architecture search.

``import asyncnni`` in a trial loads only the trial client (pyzmq and msgpack); everything
else (Experiment, tuners, the dispatcher, numpy) loads on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .trial import (
    aget_next_parameter,
    areport_final_result,
    areport_intermediate_result,
    get_current_parameter,
    get_experiment_id,
    get_next_parameter,
    get_sequence_id,
    get_trial_id,
    report_final_result,
    report_intermediate_result,
)

if TYPE_CHECKING:
    from .assessor import Assessor, AssessResult
    from .errors import NoMoreTrials
    from .experiment import Experiment
    from .tuner import MultiPhaseTuner, TrialOutcome, Tuner

_LAZY = {
    "Experiment": "asyncnni.experiment",
    "Tuner": "asyncnni.tuner",
    "MultiPhaseTuner": "asyncnni.tuner",
    "TrialOutcome": "asyncnni.tuner",
    "NoMoreTrials": "asyncnni.errors",
    "Assessor": "asyncnni.assessor",
    "AssessResult": "asyncnni.assessor",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'asyncnni' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "__version__",
    "aget_next_parameter",
    "areport_final_result",
    "areport_intermediate_result",
    "get_current_parameter",
    "get_experiment_id",
    "get_next_parameter",
    "get_sequence_id",
    "get_trial_id",
    "report_final_result",
    "report_intermediate_result",
    "Experiment",
    "Tuner",
    "MultiPhaseTuner",
    "TrialOutcome",
    "NoMoreTrials",
    "Assessor",
    "AssessResult",
]
