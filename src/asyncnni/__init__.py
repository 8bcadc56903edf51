"""asyncnni: hyperparameter optimisation and neural architecture search.

``import asyncnni`` in a trial loads only the trial client (pyzmq and msgpack); everything
else (Experiment, tuners, the dispatcher, numpy) loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_attributes
from ._version import __version__
from .trial import (
    aget_next_parameter,
    areport_final_result,
    areport_final_result_and_get_next,
    areport_intermediate_result,
    get_current_parameter,
    get_experiment_id,
    get_next_parameter,
    get_sequence_id,
    get_trial_id,
    report_final_result,
    report_final_result_and_get_next,
    report_intermediate_result,
)

if TYPE_CHECKING:
    from .assessor import Assessor, AssessResult
    from .errors import NoMoreTrials
    from .experiment import Experiment
    from .tuner import MultiPhaseTuner, TrialOutcome, Tuner

__getattr__ = lazy_attributes(
    __name__,
    {
        "Experiment": "experiment",
        "Tuner": "tuner",
        "MultiPhaseTuner": "tuner",
        "TrialOutcome": "tuner",
        "NoMoreTrials": "errors",
        "Assessor": "assessor",
        "AssessResult": "assessor",
    },
)


__all__ = [
    "__version__",
    "aget_next_parameter",
    "areport_final_result",
    "areport_final_result_and_get_next",
    "areport_intermediate_result",
    "get_current_parameter",
    "get_experiment_id",
    "get_next_parameter",
    "get_sequence_id",
    "get_trial_id",
    "report_final_result",
    "report_final_result_and_get_next",
    "report_intermediate_result",
    "Experiment",
    "Tuner",
    "MultiPhaseTuner",
    "TrialOutcome",
    "NoMoreTrials",
    "Assessor",
    "AssessResult",
]
