"""NNI 1.x's ``MultiPhaseTuner``: a tuner told which trial job asks (``trial_job_id``).

Run it in a ``multiPhase: true`` experiment, where one trial job asks again and again.
"""

from __future__ import annotations

from typing import Any

from ..tuner import Tuner

__all__ = ["MultiPhaseTuner"]


class MultiPhaseTuner(Tuner):
    """Every call carries ``trial_job_id``; otherwise as :class:`nni.tuner.Tuner`."""

    def generate_parameters(
        self, parameter_id: int, trial_job_id: str | None = None, **kwargs: Any
    ) -> Any:
        return super().generate_parameters(parameter_id, trial_job_id=trial_job_id, **kwargs)

    def generate_multiple_parameters(
        self, parameter_id_list: list[int], trial_job_id: str | None = None, **kwargs: Any
    ) -> list:
        return super().generate_multiple_parameters(
            parameter_id_list, trial_job_id=trial_job_id, **kwargs
        )

    def receive_trial_result(
        self,
        parameter_id: int,
        parameters: Any,
        value: Any,
        trial_job_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        raise NotImplementedError("MultiPhaseTuner: receive_trial_result not implemented")

    def receive_customized_trial_result(
        self, parameter_id: int, parameters: Any, value: Any, trial_job_id: str | None = None
    ) -> None:
        """Results of trials added by hand (asyncnni never calls it)."""

    def trial_end(
        self, parameter_id: int, success: bool, trial_job_id: str | None = None, **kwargs: Any
    ) -> None:
        pass
