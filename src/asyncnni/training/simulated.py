"""``platform: simulated``: trial jobs as coroutines on a virtual clock, driven by a function.

Each trial job is a coroutine in the experiment's event loop that speaks the real protocol
over a real ZeroMQ socket to the real dispatcher, exactly as a trial process would: it asks
for parameters (NEW_TRIAL), "trains" by sleeping on the service's :class:`VirtualClock` for
``budget * cost_per_unit`` simulated seconds, reports, and asks again in multi-phase mode.
What it reports comes from a Python function ``(parameters, budget) -> value or curve``: a
value is the final result; a curve (one value per budget unit) is reported point by point
as intermediate results, a unit of simulated time apart, its last point the final result.
So a benchmark of thousands of trials and simulated hours runs in seconds with the real
tuner and dispatcher (Syne Tune's simulator backend is the model).

- ``TRIAL_BUDGET`` in the parameters is the budget (``max_budget`` when absent);
- with ``resume_from`` (ASHA's ``resume: true``) training continues from the budget the
  configuration reached at that checkpoint (kept in memory: nothing is written) and costs
  only the difference;
- the final metric is ``{"default": value, "budget": b, "started": t0, "ended": t1}`` with the
  simulated times in seconds, so a benchmark can replay the run on the simulated clock;
- ``max_trial_duration`` and the experiment's ``max_experiment_duration`` are simulated
  seconds: a job still running ``max_trial_duration`` after its start is killed (FAILED) at
  exactly that simulated time.
"""

from __future__ import annotations

import importlib
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import zmq
import zmq.asyncio

from .. import protocol, transport
from ..errors import ConfigError
from ._clock import VirtualClock
from .base import (
    FAILED,
    SUCCEEDED,
    USER_CANCELED,
    TrainingService,
    TrialEvent,
    TrialExit,
    TrialJob,
)

if TYPE_CHECKING:
    from ..config import ExperimentConfig

log = logging.getLogger("asyncnni.training")

BUDGET_KEY, RESUME_KEY, CHECKPOINT_KEY = "TRIAL_BUDGET", "resume_from", "checkpoint_dir"

Function = Callable[[dict[str, Any], float], "float | list[float]"]


class TrialFailed(Exception):
    """The dispatcher refused a simulated trial's message (its answer was an ERROR)."""


def load_function(spec: str) -> tuple[Function, float | None, Any]:
    """``pkg.module:name``: a function, or an object with ``function`` (and ``max_budget``,
    ``cost``) such as the benchmarks of asyncnni.bench.functions. Returns the function, its
    largest budget if it says, and its cost per budget unit (a number or a callable of the
    parameters) if it says."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"training_service.function: {spec!r} must be 'pkg.module:name'")
    try:
        target = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise ConfigError(f"training_service.function: cannot load {spec!r}: {err}") from None
    if callable(getattr(target, "function", None)):
        return target.function, getattr(target, "max_budget", None), getattr(target, "cost", None)
    if not callable(target):
        raise ConfigError(f"training_service.function: {spec!r} is not callable")
    return target, None, None


class SimulatedTrainingService(TrainingService):
    """Trial jobs as in-process coroutines on a virtual clock (see the module docstring).

    ``clock`` is the service's :class:`VirtualClock`; ``call_at(t, callback)`` on it runs
    ``callback`` when simulated time reaches ``t`` (a benchmark stops the experiment there).
    """

    platform = "simulated"

    def __init__(
        self,
        function: Function,
        *,
        cost: float | Callable[[dict[str, Any]], float] = 1.0,
        max_budget: float = 1.0,
        multi_phase: bool = False,
        max_trial_duration: float | None = None,
    ) -> None:
        self.function, self.cost, self.max_budget = function, cost, max_budget
        self.multi_phase, self.max_trial_duration = multi_phase, max_trial_duration
        self.clock = VirtualClock()
        self._ctx: zmq.asyncio.Context | None = None
        self._scopes: dict[str, anyio.CancelScope] = {}
        self._killed: dict[str, tuple[TrialEvent, str]] = {}
        self._reached: dict[str, float] = {}  # checkpoint folder -> budget trained so far

    @classmethod
    def from_config(cls, config: ExperimentConfig, folder: Path) -> SimulatedTrainingService:
        options = config.training_service
        if not options.function:
            raise ConfigError("training_service.function: required for platform simulated")
        function, max_budget, cost = load_function(options.function)
        if options.cost_per_unit is not None:
            cost = options.cost_per_unit
        if options.max_budget is not None:
            max_budget = options.max_budget
        return cls(
            function,
            cost=1.0 if cost is None else cost,
            max_budget=1.0 if max_budget is None else max_budget,
            multi_phase=config.multi_phase,
            max_trial_duration=config.max_trial_duration,
        )

    async def __aenter__(self) -> SimulatedTrainingService:
        self._ctx = zmq.asyncio.Context()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._ctx is not None:
            self._ctx.term()
            self._ctx = None

    # ----------------------------------------------------------------- the contract
    async def run(self, job: TrialJob) -> TrialExit:
        assert self._ctx is not None, "use the service inside `async with`"
        job_id = job.trial_job_id
        sock = transport.connect_dealer(self._ctx, job.env["ASYNCNNI_DISPATCHER"], job_id)
        overdue = None
        if self.max_trial_duration:  # simulated seconds, as local counts real ones
            reason = f"killed after max_trial_duration ({self.max_trial_duration:g}s)"
            overdue = self.clock.call_at(
                self.clock.now + self.max_trial_duration, lambda: self.kill(job_id, reason, FAILED)
            )
        try:
            with self.clock.job(), anyio.CancelScope() as scope:
                self._scopes[job_id] = scope
                try:
                    await _Trial(self, sock, job_id).run()
                except TrialFailed as err:
                    return TrialExit(FAILED, 1, str(err))
            killed = self._killed.pop(job_id, None)
            if killed is not None:
                return TrialExit(killed[0], None, killed[1])
            return TrialExit(SUCCEEDED, 0)
        finally:
            if overdue is not None:
                overdue.cancel()
            self._scopes.pop(job_id, None)
            sock.close(linger=0)

    def kill(
        self, trial_job_id: str, reason: str, event: TrialEvent = TrialEvent.EARLY_STOPPED
    ) -> None:
        scope = self._scopes.get(trial_job_id)
        if scope is not None and trial_job_id not in self._killed:
            self._killed[trial_job_id] = (event, reason)
            scope.cancel()

    def kill_all(self, reason: str) -> None:
        for trial_job_id in list(self._scopes):
            self.kill(trial_job_id, reason, USER_CANCELED)

    # ----------------------------------------------------------------- one step
    def cost_of(self, parameters: dict[str, Any]) -> float:
        return float(self.cost(parameters) if callable(self.cost) else self.cost)

    def start_budget(self, parameters: dict[str, Any]) -> float:
        resume = parameters.get(RESUME_KEY)
        return self._reached.get(resume, 0.0) if resume else 0.0

    def reached(self, parameters: dict[str, Any], budget: float) -> None:
        folder = parameters.get(CHECKPOINT_KEY)
        if folder:
            self._reached[folder] = budget


class _Trial:
    """One simulated trial job: the client side of the protocol, on the virtual clock."""

    def __init__(self, service: SimulatedTrainingService, sock: zmq.asyncio.Socket, job_id: str):
        self.service, self.sock, self.job_id = service, sock, job_id
        self.clock = service.clock
        self._req = 0

    async def run(self) -> None:
        index = 0
        while True:
            with self.clock.asking():
                reply = await self.request(protocol.new_trial(self._next_req(), self.job_id, index))
            if reply["kind"] == protocol.NO_MORE_TRIALS:
                return
            await self.train(reply["parameter_id"], reply["parameters"])
            index += 1
            if not self.service.multi_phase:
                return

    async def train(self, parameter_id: int, parameters: dict[str, Any]) -> None:
        service = self.service
        budget = float(parameters.get(BUDGET_KEY, service.max_budget))
        start, started = service.start_budget(parameters), self.clock.now
        unit = service.cost_of(parameters)
        out = service.function(parameters, budget)
        if isinstance(out, list | tuple):
            first = int(math.floor(start + 1e-9))
            for epoch in range(first, len(out)):
                await self.clock.sleep(unit)
                # waits for the ACK: a report still in flight when time moves on would reach
                # the dispatcher (assessor, tuner) late, or after its job was killed
                await self.request(
                    protocol.report_metric(
                        self._next_req(),
                        self.job_id,
                        parameter_id,
                        protocol.PERIODICAL,
                        epoch,
                        out[epoch],
                    )
                )
            value = float(out[-1])
        else:
            await self.clock.sleep(max(budget - start, 0.0) * unit)
            value = float(out)
        service.reached(parameters, budget)
        metric = {"default": value, "budget": budget, "started": started, "ended": self.clock.now}
        await self.request(
            protocol.report_metric(
                self._next_req(), self.job_id, parameter_id, protocol.FINAL, 0, metric
            )
        )

    def _next_req(self) -> int:
        self._req += 1
        return self._req

    def send(self, message: dict) -> None:
        self.sock.send(protocol.encode(message), copy=False)

    async def request(self, message: dict) -> dict:
        """Send ``message`` and return its answer."""
        self.send(message)
        req = message["req"]
        while True:
            answer = protocol.decode(await self.sock.recv())
            if answer.get("kind") == protocol.ERROR:
                raise TrialFailed(
                    f"the dispatcher refused {message['kind']}: {answer.get('message')}"
                )
            if answer.get("req") == req:
                return answer
