"""The tuner interface of DESIGN.md, and the adapter that drives any tuner from the event loop.

A tuner is written either with ``async def`` methods (subclass :class:`Tuner`) or, as in NNI,
with plain ``def`` methods. The dispatcher never calls a tuner directly: it goes through
:class:`TunerDriver`, which awaits coroutine methods and runs plain ones in a worker thread,
so the event loop keeps storing and acknowledging reports while a tuner thinks.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._driver import PluginDriver
from .errors import NoMoreTrials, UnknownParameterError
from .protocol import metric_scalar

__all__ = [
    "MultiPhaseTuner",
    "NoMoreTrials",
    "OptimizeMode",
    "Tuner",
    "TrialOutcome",
    "TunerDriver",
    "UnknownParameterError",
    "metric_scalar",
]


class OptimizeMode(enum.StrEnum):
    MAXIMIZE = "maximize"
    MINIMIZE = "minimize"

    @classmethod
    def parse(cls, value: str | OptimizeMode) -> OptimizeMode:
        try:
            return cls(str(getattr(value, "value", value)).lower())
        except ValueError:
            raise ValueError(
                f"optimize_mode must be 'maximize' or 'minimize', not {value!r}"
            ) from None

    def to_loss(self, value: float) -> float:
        """The value turned into a loss: smaller is always better."""
        return -value if self is OptimizeMode.MAXIMIZE else value

    def better(self, a: float, b: float) -> bool:
        """True when ``a`` is strictly better than ``b``."""
        return a > b if self is OptimizeMode.MAXIMIZE else a < b

    def best(self, values: Iterable[float]) -> float | None:
        """The best of ``values``, or None when there are none."""
        values = list(values)
        if not values:
            return None
        return max(values) if self is OptimizeMode.MAXIMIZE else min(values)


@dataclass(frozen=True)
class TrialOutcome:
    """What became of one parameter set: its final result, or why there is none."""

    parameter_id: int
    succeeded: bool
    value: float | None = None  # the scalar ("default") metric when succeeded
    metric: Any = None  # the metric exactly as reported (number or map)
    reason: str | None = None  # why it failed, e.g. "trial job ab12 ended FAILED (exit code 1)"


class Tuner:
    """Base class of asynchronous tuners.

    Override ``update_search_space`` and ``generate_parameters``; the rest is optional.
    ``info`` carries ``trial_job_id`` (which job asks) and ``parameter_index`` (its n-th ask);
    ``receive_trial_result`` gets the scalar metric as ``value`` and the full report as
    ``info["metric"]``. The dispatcher sets ``shared_dir`` (shared storage folder or None)
    before the first call, and provides ``wait_for_result``.

    A tuner that wants intermediate results (a multi-fidelity one taking the value a trial
    reported at the step of its budget) defines ``receive_intermediate_result(parameter_id,
    parameters, value, **info)``, with ``info["sequence"]`` (0 for a parameter set's first
    report), ``trial_job_id``, ``parameter_index`` and ``metric``. It is called in report
    order, after the report is stored and before any later result of that trial job reaches
    the tuner. It is deliberately not defined here: the dispatcher routes intermediate
    results only to a tuner that has it, so no other tuner pays for them.
    """

    shared_dir: Path | None = None
    _outcomes: Callable[[int], Awaitable[TrialOutcome]] | None = None

    async def update_search_space(self, search_space: dict) -> None:
        """Receive the search space, exactly as written; validate it here."""

    async def generate_parameters(self, parameter_id: int, **info: Any) -> dict:
        """Return the parameters for ``parameter_id``; raise NoMoreTrials to stop."""
        raise NotImplementedError(f"{type(self).__name__} does not implement generate_parameters")

    async def receive_trial_result(
        self, parameter_id: int, parameters: dict, value: float, **info: Any
    ) -> None:
        """A final result. It is stored before this is called."""

    async def trial_end(self, parameter_id: int, success: bool, **info: Any) -> None:
        """The trial job that ran ``parameter_id`` ended (success: it reported a final result)."""

    async def import_data(self, data: list[dict]) -> None:
        """Warm start: ``[{"parameter": {...}, "value": ...}, ...]`` from earlier experiments."""

    async def wait_for_result(self, parameter_id: int) -> TrialOutcome:
        """Wait until ``parameter_id`` has a final result or its trial job ended without one.

        Results reach ``receive_trial_result`` before any waiter wakes. Raises
        UnknownParameterError for an id never handed out. Usable in asynchronous mode; in
        serial mode the dispatcher handles one command at a time, so waiting there on a
        parameter that is still running could never end: it raises RuntimeError.
        """
        if self._outcomes is None:
            raise RuntimeError("wait_for_result works only while a dispatcher drives this tuner")
        return await self._outcomes(parameter_id)


class MultiPhaseTuner(Tuner):
    """A tuner that plans per trial job: ``trial_job_id`` is a named argument of every call.

    In a multi-phase experiment one trial job asks again and again; a MultiPhaseTuner keeps
    per-job state (e.g. the next phase of that job's model) keyed on ``trial_job_id``.
    """

    async def generate_parameters(
        self, parameter_id: int, trial_job_id: str | None = None, **info: Any
    ) -> dict:
        raise NotImplementedError(f"{type(self).__name__} does not implement generate_parameters")

    async def receive_trial_result(
        self,
        parameter_id: int,
        parameters: dict,
        value: float,
        trial_job_id: str | None = None,
        **info: Any,
    ) -> None:
        pass

    async def trial_end(
        self, parameter_id: int, success: bool, trial_job_id: str | None = None, **info: Any
    ) -> None:
        pass


class TunerDriver(PluginDriver):
    """Calls one tuner object, whatever its style, from the event loop.

    Coroutine methods are awaited; plain methods run in a worker thread. Methods the user's
    class lacks are skipped (an NNI tuner may omit ``trial_end`` or ``import_data``). Keyword
    arguments the method cannot take are dropped, so a plain ``def generate_parameters(self,
    parameter_id, **kwargs)`` and ``def generate_parameters(self, parameter_id)`` both work.
    A subclass of ``nni.tuner.Tuner`` is called as NNI calls it: ``receive_trial_result``
    gets the metric as reported (a number or a dict) as ``value``.
    """

    KIND = "tuner"
    METHODS = (
        "update_search_space",
        "generate_parameters",
        "receive_trial_result",
        "receive_intermediate_result",
        "trial_end",
        "import_data",
    )
    REQUIRED = ("generate_parameters",)

    def __init__(
        self,
        tuner: object,
        *,
        outcomes: Callable[[int], Awaitable[TrialOutcome]] | None = None,
        shared_dir: Path | None = None,
    ) -> None:
        self.tuner = tuner
        self.attach(outcomes, shared_dir)
        super().__init__(tuner)
        #: the tuner has ``receive_intermediate_result``: only then are intermediate results
        #: routed to it
        self.hears_intermediate = self._calls["receive_intermediate_result"] is not None
        self._generate = self._calls["generate_parameters"]  # required: never None

    def attach(
        self,
        outcomes: Callable[[int], Awaitable[TrialOutcome]] | None,
        shared_dir: Path | None = None,
    ) -> None:
        """Give the tuner what the Tuner base declares (``wait_for_result``'s source and
        ``shared_dir``), whatever its class (NNI-style ones too)."""
        try:
            self.tuner._outcomes = outcomes  # type: ignore[attr-defined]
            if getattr(self.tuner, "shared_dir", None) is None:
                self.tuner.shared_dir = shared_dir  # type: ignore[attr-defined]
        except AttributeError:  # a class with __slots__: it simply does not get them
            pass

    async def update_search_space(self, search_space: dict) -> None:
        await self._call("update_search_space", search_space)

    async def generate_parameters(self, parameter_id: int, **info: Any) -> dict:
        params = await self._generate(parameter_id, **info)  # type: ignore[misc]
        if not isinstance(params, dict):
            raise TypeError(
                f"tuner {self.name}.generate_parameters({parameter_id}) returned "
                f"{type(params).__name__}, expected a dict of parameters"
            )
        return params

    async def receive_trial_result(
        self, parameter_id: int, parameters: dict, value: float, **info: Any
    ) -> None:
        if self.nni_conventions:
            # NNI hands its tuners the metric as reported (a number or a dict) as value
            value = info.get("metric", value)
            info = {"customized": False, "trial_job_id": info.get("trial_job_id")}
        await self._call("receive_trial_result", parameter_id, parameters, value, **info)

    async def receive_intermediate_result(
        self, parameter_id: int, parameters: dict, value: float, **info: Any
    ) -> None:
        await self._call("receive_intermediate_result", parameter_id, parameters, value, **info)

    async def trial_end(self, parameter_id: int, success: bool, **info: Any) -> None:
        await self._call("trial_end", parameter_id, success, **info)

    async def import_data(self, data: list[dict]) -> None:
        await self._call("import_data", data)
