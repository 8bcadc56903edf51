"""NNI's ``nni.assessor``: ``Assessor`` to subclass as in NNI, and ``AssessResult``.

``AssessResult`` is asyncnni's own (``Good`` is True, ``Bad`` is False, as in NNI); returning
a bool works too. ``_on_exit()`` / ``_on_error()`` are called as for tuners.
"""

from __future__ import annotations

from typing import Any

from asyncnni.assessor import AssessResult

from .recoverable import Recoverable

__all__ = ["AssessResult", "Assessor"]


class Assessor(Recoverable):
    """Override ``assess_trial``; ``trial_end`` is optional."""

    _asyncnni_nni_conventions = True

    def assess_trial(self, trial_job_id: str, trial_history: list) -> Any:
        """``AssessResult.Good`` to let the trial go on, ``AssessResult.Bad`` to stop it."""
        raise NotImplementedError("Assessor: assess_trial not implemented")

    def trial_end(self, trial_job_id: str, success: bool) -> None:
        """The trial job ended; ``success`` is False when it failed or was stopped."""

    def _on_exit(self) -> None:
        pass

    def _on_error(self) -> None:
        pass
