"""asyncnni's ``nni``: NNI's trial API and names, mapped onto asyncnni.

Only the trial client loads here (pyzmq and msgpack): ``import nni`` in a trial imports no
numpy, torch or anyio. ``nni.tuner``, ``nni.assessor``, ``nni.utils``, ``nni.multi_phase``
and ``nni.nas.pytorch`` are imported by the code that needs them.
"""

from asyncnni import __version__ as _asyncnni_version
from asyncnni.errors import NoMoreTrials as _NoMoreTrials
from asyncnni.trial import (
    get_current_parameter,
    get_experiment_id,
    get_next_parameter,
    get_sequence_id,
    get_trial_id,
    report_final_result,
    report_intermediate_result,
)

from .utils import ClassArgsValidator

__version__ = f"3.0+asyncnni.{_asyncnni_version}"


def get_next_parameters():
    """NNI's alias of :func:`get_next_parameter`."""
    return get_next_parameter()


class NoMoreTrialError(_NoMoreTrials):
    """NNI's name for "nothing more to try"; asyncnni's dispatcher treats it as NoMoreTrials."""

    def __init__(self, ErrorInfo: str = "Search space fully explored") -> None:  # noqa: N803 - NNI's name
        super().__init__(ErrorInfo)
        self.errorinfo = ErrorInfo

    def __str__(self) -> str:
        return self.errorinfo


__all__ = [
    "ClassArgsValidator",
    "NoMoreTrialError",
    "get_current_parameter",
    "get_experiment_id",
    "get_next_parameter",
    "get_next_parameters",
    "get_sequence_id",
    "get_trial_id",
    "report_final_result",
    "report_intermediate_result",
]
