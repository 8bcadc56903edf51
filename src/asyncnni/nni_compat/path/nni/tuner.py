"""NNI's ``nni.tuner.Tuner``: subclass it as in NNI, with plain ``def`` methods.

A subclass gets NNI's calling conventions: ``receive_trial_result`` gets the metric exactly
as the trial reported it (a number or a dict) as ``value``; ``_on_exit()`` is called when
the experiment ends normally and ``_on_error()`` when it ends because of an error.
Keyword arguments NNI passes (``trial_job_id``, ``customized``) reach methods that take them.
"""

from __future__ import annotations

import logging
from typing import Any

from .recoverable import Recoverable

__all__ = ["Tuner"]

_logger = logging.getLogger(__name__)


class Tuner(Recoverable):
    """Override ``update_search_space``, ``receive_trial_result`` and ``generate_parameters``
    (or ``generate_multiple_parameters``); ``trial_end`` and ``import_data`` are optional."""

    # read by asyncnni's TunerDriver: call this tuner the way NNI calls it
    _asyncnni_nni_conventions = True

    def generate_parameters(self, parameter_id: int, **kwargs: Any) -> Any:
        """The parameters for ``parameter_id``; raise ``nni.NoMoreTrialError`` to stop."""
        if type(self).generate_multiple_parameters is not Tuner.generate_multiple_parameters:
            import nni

            batch = self.generate_multiple_parameters([parameter_id], **kwargs)
            if not batch:
                raise nni.NoMoreTrialError()
            return batch[0]
        raise NotImplementedError("Tuner: generate_parameters not implemented")

    def generate_multiple_parameters(self, parameter_id_list: list[int], **kwargs: Any) -> list:
        """NNI's batch form: ``generate_parameters`` for each id, up to the first
        NoMoreTrialError. asyncnni asks one id at a time."""
        import nni

        result = []
        for parameter_id in parameter_id_list:
            try:
                result.append(self.generate_parameters(parameter_id, **kwargs))
            except nni.NoMoreTrialError:
                break
        return result

    def receive_trial_result(
        self, parameter_id: int, parameters: Any, value: Any, **kwargs: Any
    ) -> None:
        """A final result; ``value`` is the metric as reported (a number or a dict)."""
        raise NotImplementedError("Tuner: receive_trial_result not implemented")

    def _accept_customized_trials(self, accept: bool = True) -> None:
        self._accept_customized = accept

    def trial_end(self, parameter_id: int, success: bool, **kwargs: Any) -> None:
        """The trial job of ``parameter_id`` ended (success: it succeeded)."""

    def update_search_space(self, search_space: Any) -> None:
        raise NotImplementedError("Tuner: update_search_space not implemented")

    def import_data(self, data: list[dict]) -> None:
        """Earlier results, ``[{"parameter": ..., "value": ...}, ...]``."""

    def _on_exit(self) -> None:
        pass

    def _on_error(self) -> None:
        pass
