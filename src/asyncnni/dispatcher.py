"""The asyncio core: one ROUTER socket, routing between trial jobs, the tuner, the assessor
and the store.

Serial mode (the default): every tuner command (NEW_TRIAL, a final result, a trial's end)
goes through one ordered stream, so the tuner sees one call at a time in arrival order.
Asynchronous mode: each NEW_TRIAL runs in its own task and may ``await
tuner.wait_for_result(parent)``; results and trial ends still reach the tuner in order,
through a stream of their own, so a waiting request never holds them up.

Reports are stored and acknowledged by the receive loop itself, never behind the tuner:
answers that promise durability wait in an outbox that is flushed (one commit, then the
sends) after each burst of work.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import TaskGroup

from . import protocol, transport
from ._loop import CommandQueue, Flag, RequestTasks
from .errors import NoMoreTrials, ProtocolError, UnknownParameterError
from .store import Store, metric_row, parameter_row
from .tuner import OptimizeMode, TrialOutcome, TunerDriver

log = logging.getLogger("asyncnni.dispatcher")

PARAMETER_SOURCE = "algorithm"
MAX_BATCH = 1024  # frames handled per commit; bounds the latency one burst adds
_asking_job: contextvars.ContextVar[str | None] = contextvars.ContextVar("asking_job", default=None)


@dataclass(eq=False)
class ParameterState:
    """One parameter set, from the moment the tuner is asked for it."""

    parameter_id: int
    trial_job_id: str
    index: int
    parameters: dict | None = None  # None while the tuner is still generating
    final_value: float | None = None
    final_metric: Any = None
    history: list[float] = field(default_factory=list)  # intermediate values, in arrival order
    sequences: set[int] = field(default_factory=set)  # of the intermediate values stored
    generated: Flag = field(default_factory=lambda: Flag())
    done: Flag = field(default_factory=lambda: Flag())
    outcome: TrialOutcome | None = None
    ended: bool = False  # its trial job ended while the tuner was still generating
    previous: ParameterState | None = None  # the same job's parameter set before this one

    def resolve(self, outcome: TrialOutcome) -> None:
        if self.outcome is None:
            self.outcome = outcome
            self.done.set()


@dataclass(eq=False)
class JobState:
    trial_job_id: str
    parameter_ids: list[int] = field(default_factory=list)
    ended: bool = False


class Dispatcher:
    """Routes wire messages; the only place where tuners and training services meet.

    ``on_kill(trial_job_id, reason)`` is called when the assessor stops a trial;
    ``on_fatal(message)`` when the tuner fails and the experiment cannot go on;
    ``on_exhausted()`` when no more parameters will be handed out.
    """

    def __init__(
        self,
        tuner: object,
        store: Store,
        *,
        address: str,
        multi_phase: bool = False,
        async_mode: bool = False,
        max_parameters: int | None = None,
        assessor: Any = None,
        on_kill: Callable[[str, str], None] | None = None,
        on_fatal: Callable[[str], None] | None = None,
        on_exhausted: Callable[[], None] | None = None,
        first_parameter_id: int = 0,
        issued: int = 0,
        best: float | None = None,
        optimize_mode: str = "maximize",
        shared_dir: Path | None = None,
    ) -> None:
        self.tuner = TunerDriver(tuner, outcomes=self.wait_for_result, shared_dir=shared_dir)
        self.optimize_mode = OptimizeMode.parse(optimize_mode)
        self.store = store
        self.bind_address = address
        self.address: str | None = None
        self.multi_phase = multi_phase
        self.async_mode = async_mode
        self.max_parameters = max_parameters
        self.assessor = assessor
        self._on_kill = on_kill or (lambda job, reason: None)
        self._on_fatal = on_fatal or (lambda message: None)
        self._on_exhausted = on_exhausted or (lambda: None)
        self._next_parameter_id = first_parameter_id
        self._issued = issued  # what max_parameters counts (resumed runs start above 0)
        self.exhausted = False
        self.jobs: dict[str, JobState] = {}
        self.parameters: dict[int, ParameterState] = {}
        self.waiting_on: dict[str, int] = {}  # trial job -> parent parameter its request awaits
        self._requests = RequestTasks(self._task_failed)  # asynchronous mode's NEW_TRIALs
        self._cancelled = False  # cancel_generating was called: the tuner is not asked again
        self.best = best
        self._outbox: list[tuple[bytes, bytes]] = []
        self._endpoint: transport.RouterEndpoint | None = None
        # rows of the current burst, stored by _flush in one transaction before its answers go out
        self._parameter_rows: list[tuple] = []
        self._flush_scheduled = False
        self._metric_rows: list[tuple] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._burst_scheduled = False
        self._failed = anyio.Event()
        self._failure: Exception | None = None
        self._tg: TaskGroup | None = None
        self._tuner_commands = CommandQueue()  # the ordered tuner commands
        self._feedback = self._tuner_commands  # results and ends (a queue of its own in async mode)

    # --- lifecycle --------------------------------------------------------------------

    async def serve(
        self, *, task_status: anyio.abc.TaskStatus[str] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Bind, then route until cancelled. ``task_status.started`` gets the address."""
        self._endpoint = endpoint = transport.RouterEndpoint(self.bind_address)
        self.address = endpoint.address
        self._loop = asyncio.get_running_loop()
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                self._tuner_commands = CommandQueue()
                tg.start_soon(self._run_commands, self._tuner_commands)
                if self.async_mode:
                    self._feedback = CommandQueue()
                    tg.start_soon(self._run_commands, self._feedback)
                else:
                    self._feedback = self._tuner_commands
                tg.start_soon(self._receive_loop)
                task_status.started(self.address)
        finally:
            with anyio.CancelScope(shield=True):
                await self._requests.close()
            endpoint.close()
            self.store.commit()

    @property
    def issued(self) -> int:
        """Parameter sets handed out (with, in multi-phase mode, jobs that died before asking)."""
        return self._issued

    def register_job(
        self, trial_job_id: str, sequence: int | None = None, trial_dir: str = ""
    ) -> None:
        """A training service announces a trial job before it starts (unknown ids are refused);
        it is recorded in the store as RUNNING."""
        self.store.add_trial_job(
            trial_job_id, len(self.jobs) if sequence is None else sequence, trial_dir
        )
        self.store.commit()
        self.jobs[trial_job_id] = JobState(trial_job_id)

    async def drain(self) -> None:
        """Return once every result and trial end received so far has reached the tuner (and
        the assessor). The experiment calls it before it cancels the dispatcher, so the tuner
        hears the results and ends of the last trials too."""
        drained = anyio.Event()

        async def mark() -> None:
            drained.set()

        self._feedback.put(mark)  # commands of a stream run in order: mark runs last
        await drained.wait()

    def stop_new_parameters(self) -> None:
        """From now on every NEW_TRIAL is answered NO_MORE_TRIALS (a limit was reached)."""
        if not self.exhausted:
            self.exhausted = True
            self._on_exhausted()

    def cancel_generating(self) -> None:
        """The experiment stops: every NEW_TRIAL the tuner still works on (e.g. a child that
        waits on its parent) is cancelled and answered NO_MORE_TRIALS, and so is every later
        one. Unlike stop_new_parameters, requests already handed to the tuner end too."""
        self._cancelled = True
        self.stop_new_parameters()
        self._requests.cancel_all()

    # --- socket -----------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        """Owns the socket's reader callback, which does the receiving (no task wake-up per
        burst); an error in it is raised here, so it ends the dispatcher like any task's."""
        loop, fd = self._loop, self._endpoint.fd  # type: ignore[union-attr]
        loop.add_reader(fd, self._receive_burst)
        try:
            self._check_readable()  # input may have arrived before the reader was added
            await self._failed.wait()
            assert self._failure is not None
            raise self._failure
        finally:
            loop.remove_reader(fd)

    def _check_readable(self) -> None:
        """ZeroMQ signals its FD edge-like: after any send, input may be announced only by
        the socket's EVENTS, so look and schedule a burst when there is some."""
        if not self._burst_scheduled and self._endpoint is not None and self._endpoint.has_input():
            self._burst_scheduled = True
            self._loop.call_soon(self._receive_burst)

    def _receive_burst(self) -> None:
        """Handle up to MAX_BATCH waiting messages, commit once, send the answers; if more wait,
        come back after the tasks that are ready (fairness to tuner tasks)."""
        self._burst_scheduled = False
        try:
            batch, dropped = self._endpoint.receive(MAX_BATCH)  # type: ignore[union-attr]
            if dropped:
                log.warning("dropped %d message(s) of more than one frame", dropped)
            if batch:
                self._handle_batch(batch)
                self._flush()
            self._check_readable()
        except Exception as err:
            self._failure = err
            self._failed.set()

    def _send(self, identity: bytes, message: dict) -> None:
        self._send_frame(identity, protocol.encode(message))
        self._check_readable()

    def _send_frame(self, identity: bytes, frame: bytes) -> None:
        try:
            self._endpoint.send(identity, frame)  # type: ignore[union-attr]
        except transport.PeerGone:
            log.debug("peer %r is gone; an answer to it was dropped", identity)
        except Exception as err:  # a full queue or a closing socket: say so, keep serving
            log.error("could not send to %r: %s", identity, err)

    def _flush(self) -> None:
        """Store what the last burst brought, commit, then send every answer that waited
        for the commit; every burst of work ends here, so here input that arrived during
        its sends is noticed (see _check_readable)."""
        if self._parameter_rows:
            self.store.add_parameters(self._parameter_rows)
            self._parameter_rows = []
        if self._metric_rows:
            self.store.add_metrics(self._metric_rows)
            self._metric_rows = []
        self.store.commit()
        outbox, self._outbox = self._outbox, []
        for identity, frame in outbox:
            self._send_frame(identity, frame)
        self._check_readable()

    def _flush_soon(self) -> None:
        """Flush once the tasks ready in this loop iteration have run: in asynchronous mode
        many tuner tasks finish together, and they share one commit."""
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._scheduled_flush)

    def _scheduled_flush(self) -> None:
        self._flush_scheduled = False
        self._flush()

    def _answer_after_commit(self, identity: bytes, message: dict) -> None:
        self._outbox.append((identity, protocol.encode(message)))

    # --- incoming messages ------------------------------------------------------------

    def _handle_batch(self, batch: list[list[bytes]]) -> None:
        for frames in batch:
            if len(frames) != 2:
                log.warning(
                    "dropped a message of %d frames (expected 1 after the identity)",
                    len(frames) - 1,
                )
                continue
            identity, frame = frames
            try:
                message = protocol.decode(frame)
                kind = message["kind"]
                if kind == protocol.REPORT_METRIC:
                    self._on_report(identity, message)
                elif kind == protocol.NEW_TRIAL:
                    self._on_new_trial(identity, message)
                elif kind == protocol.TRIAL_END:
                    self.job_ended(message["trial_job_id"], message["event"], message["exit_code"])
                else:
                    raise ProtocolError(protocol.E_KIND, f"{kind} is not sent to the dispatcher")
            except ProtocolError as err:
                log.warning("refused a message from %r: %s", identity, err)
                self._send(identity, protocol.error(err.code, str(err), protocol.request_id(frame)))

    def _job(self, trial_job_id: str) -> JobState:
        job = self.jobs.get(trial_job_id)
        if job is None:
            raise ProtocolError(protocol.E_UNKNOWN_TRIAL, f"unknown trial job {trial_job_id!r}")
        return job

    def _on_new_trial(self, identity: bytes, message: dict) -> None:
        job = self._job(message["trial_job_id"])
        if job.ended:
            raise ProtocolError(
                protocol.E_UNKNOWN_TRIAL, f"trial job {job.trial_job_id!r} has ended"
            )
        req = message["req"]
        # without multi-phase every ask of a job is its first: same configuration, tuner not asked
        index = message["parameter_index"] if self.multi_phase else 0
        if index < len(job.parameter_ids):
            state = self.parameters[job.parameter_ids[index]]
            if state.generated.is_set():
                self._answer_parameters(identity, req, state)
            else:  # a repeat while the tuner still thinks: answer when it is done
                self._start(self._answer_when_generated, identity, req, state)
            return
        if index > len(job.parameter_ids):
            raise ProtocolError(
                protocol.E_FIELD,
                f"NEW_TRIAL: parameter_index {index} of trial job {job.trial_job_id!r} skips ahead "
                f"(next is {len(job.parameter_ids)})",
            )
        if self.max_parameters is not None and self._issued >= self.max_parameters:
            self.stop_new_parameters()
        if self.exhausted:
            self._send(identity, protocol.no_more_trials(req))
            return
        previous = (
            self.parameters[job.parameter_ids[-1]]
            if self.async_mode and job.parameter_ids
            else None
        )
        state = ParameterState(self._next_parameter_id, job.trial_job_id, index, previous=previous)
        self._next_parameter_id += 1
        self._issued += 1
        if self.max_parameters is not None and self._issued >= self.max_parameters:
            self.stop_new_parameters()  # the last one: nobody needs to ask again to learn it
        self.parameters[state.parameter_id] = state
        job.parameter_ids.append(state.parameter_id)
        if self.async_mode:
            self._requests.spawn(self._generate_request(identity, req, state))
        else:
            self._tuner_commands.put(lambda: self._generate(identity, req, state))

    def _on_report(self, identity: bytes, message: dict) -> None:
        job_id = message["trial_job_id"]
        self._job(job_id)
        parameter_id = message["parameter_id"]
        state = self.parameters.get(parameter_id)
        if state is None or state.trial_job_id != job_id or state.parameters is None:
            raise ProtocolError(
                protocol.E_UNKNOWN_PARAMETER,
                f"trial job {job_id!r} was not given parameter id {parameter_id}",
            )
        raw = message["value"]
        value = raw if type(raw) is float else protocol.metric_scalar(raw)  # validated by decode
        # a repeat (a retry after a lost ACK) is acknowledged again but stored and seen once
        if message["type"] == protocol.FINAL:
            if state.final_value is None:  # one final result per parameter set
                state.final_value, state.final_metric = value, raw
                self._metric_rows.append(
                    metric_row(job_id, parameter_id, protocol.FINAL, 0, value, raw)
                )
                self._feedback.put(lambda: self._deliver_result(state))
        elif message["sequence"] not in state.sequences:
            sequence = message["sequence"]
            state.sequences.add(sequence)
            state.history.append(value)
            self._metric_rows.append(
                metric_row(job_id, parameter_id, protocol.PERIODICAL, sequence, value, raw)
            )
            if self.assessor is not None:
                self._feedback.put(lambda: self._assess(state))
        self._answer_after_commit(identity, protocol.ack(message["req"]))

    # --- tuner side -------------------------------------------------------------------

    def _start(self, fn: Callable[..., Awaitable[None]], *args: Any) -> None:
        assert self._tg is not None
        self._tg.start_soon(fn, *args)

    async def _run_commands(self, queue: CommandQueue) -> None:
        while True:
            for command in await queue.take_all():
                await command()
            self._flush()  # one commit for the whole batch

    async def _generate(self, identity: bytes, req: int, state: ParameterState) -> None:
        try:
            params = None if self._cancelled else await self._ask_tuner(state)
            if params is not None:  # a value that cannot be stored or sent is the tuner's error
                row = parameter_row(
                    state.parameter_id, state.trial_job_id, state.index, params, PARAMETER_SOURCE
                )
        except Exception as err:
            self._drop(state)
            message = f"tuner {self.tuner.name}.generate_parameters({state.parameter_id}) failed: {type(err).__name__}: {err}"
            log.exception(message)
            self._send(identity, protocol.error(protocol.E_TUNER, message, req))
            self._fatal(message)
            return
        if params is None:  # NoMoreTrials, or the experiment stopped meanwhile
            self._drop(state)
            self._send(identity, protocol.no_more_trials(req))
            return
        state.parameters = params
        self._parameter_rows.append(row)
        state.generated.set()
        if state.ended:  # its job died while the tuner thought: nobody to answer
            self._feedback.put(
                lambda: self._end_parameter(state, "its trial job ended before it started")
            )
        else:
            self._answer_parameters(identity, req, state)
        if self.async_mode:
            self._flush_soon()

    async def _generate_request(self, identity: bytes, req: int, state: ParameterState) -> None:
        """An asynchronous-mode NEW_TRIAL in its own task; cancel_generating ends it with
        NO_MORE_TRIALS."""
        try:
            await self._generate(identity, req, state)
        except asyncio.CancelledError:
            if self._requests.closing:
                raise
            self._drop(state)  # cancelled while the tuner worked on it: nothing was answered
            self._send(identity, protocol.no_more_trials(req))

    async def _ask_tuner(self, state: ParameterState) -> dict | None:
        """The tuner's parameters for ``state``; None when it raised NoMoreTrials or when the
        experiment stopped while the tuner thought (cancel_generating). In asynchronous mode
        a request may wait (on a parent, on the job's previous result) and is cancelled by
        cancel_generating; in serial mode a call cannot wait on trials, so it just runs."""
        _asking_job.set(state.trial_job_id)
        if not self.async_mode:
            params = await self._call_generate(state)
            return None if self._cancelled else params
        try:
            if state.previous is not None and state.previous.final_value is not None:
                # the job's last result reaches the tuner before its next request does,
                # as in serial mode (a per-job order, nothing global)
                await state.previous.done.wait()
            return await self._call_generate(state)
        finally:
            self.waiting_on.pop(state.trial_job_id, None)

    async def _call_generate(self, state: ParameterState) -> dict | None:
        try:
            return await self.tuner.generate_parameters(
                state.parameter_id, trial_job_id=state.trial_job_id, parameter_index=state.index
            )
        except NoMoreTrials:
            self.stop_new_parameters()
            return None

    def _drop(self, state: ParameterState) -> None:
        """Forget a parameter id the tuner produced nothing for."""
        job = self.jobs[state.trial_job_id]
        job.parameter_ids.remove(state.parameter_id)
        del self.parameters[state.parameter_id]
        self._issued -= 1
        state.generated.set()
        state.resolve(
            TrialOutcome(state.parameter_id, False, reason="the tuner produced no parameters")
        )

    def _answer_parameters(self, identity: bytes, req: int, state: ParameterState) -> None:
        """Sent at once, before the commit of the parameter set's row: PARAMETERS promises no
        durability (ACK does), and any report on it is committed with or after that row."""
        assert state.parameters is not None
        message = protocol.parameters(
            req, state.parameter_id, state.index, state.parameters, PARAMETER_SOURCE
        )
        self._send_frame(identity, protocol.encode(message))  # the flush after it checks input

    async def _answer_when_generated(
        self, identity: bytes, req: int, state: ParameterState
    ) -> None:
        await state.generated.wait()
        if state.parameters is None:
            self._send(identity, protocol.no_more_trials(req))
        else:
            self._answer_parameters(identity, req, state)
            self._flush_soon()

    async def _deliver_result(self, state: ParameterState) -> None:
        assert state.final_value is not None and state.parameters is not None
        if self.best is None or self.optimize_mode.better(state.final_value, self.best):
            self.best = state.final_value
        try:
            await self.tuner.receive_trial_result(
                state.parameter_id,
                state.parameters,
                state.final_value,
                trial_job_id=state.trial_job_id,
                parameter_index=state.index,
                metric=state.final_metric,
            )
        except Exception as err:
            self._tuner_failed(f"receive_trial_result({state.parameter_id})", err)
        finally:  # waiters wake only after the tuner has seen the result
            state.resolve(
                TrialOutcome(state.parameter_id, True, state.final_value, state.final_metric)
            )

    async def _assess(self, state: ParameterState) -> None:
        job = self.jobs[state.trial_job_id]
        if job.ended or state.final_value is not None:
            return
        try:
            verdict = await self.assessor.assess_trial(
                state.trial_job_id, list(state.history), parameter_id=state.parameter_id
            )
        except Exception as err:
            log.exception("assessor failed on trial %s: %s", state.trial_job_id, err)
            return
        if not getattr(verdict, "value", verdict):
            reason = f"assessor stopped it after {len(state.history)} intermediate results"
            self.store.add_event("ASSESSOR_KILL", state.trial_job_id, reason)
            self._on_kill(state.trial_job_id, reason)

    def job_ended(
        self, trial_job_id: str, event: str, exit_code: int | None, message: str | None = None
    ) -> None:
        """A trial job's process ended (TRIAL_END). Its parameter sets without a final result
        end as failed: the tuner hears ``trial_end(success=False)`` and waiters wake."""
        job = self._job(trial_job_id)
        if job.ended:
            return
        job.ended = True
        if self.multi_phase and not job.parameter_ids:
            self._issued += (
                1  # a job that died before asking counts, so broken trials cannot loop forever
            )
        self.store.end_trial_job(trial_job_id, event, exit_code, message)
        self.store.commit()
        self._feedback.put(lambda: self._end_job(job, event, exit_code, message))

    async def _end_job(
        self, job: JobState, event: str, exit_code: int | None, message: str | None
    ) -> None:
        ids = list(job.parameter_ids)
        for parameter_id in ids:
            state = self.parameters[parameter_id]
            if not state.generated.is_set():
                state.ended = True  # _generate ends it when the tuner answers
                continue
            reason = f"trial job {job.trial_job_id} ended {event}" + (
                f" (exit code {exit_code})" if exit_code not in (None, 0) else ""
            )
            if state.final_value is None and parameter_id != ids[-1]:
                log.warning(
                    "trial job %s: parameter id %d got no final result before the next "
                    "get_next_parameter(); it counts as failed",
                    job.trial_job_id,
                    parameter_id,
                )
            await self._end_parameter(state, reason + (f": {message}" if message else ""))
        if self.assessor is not None:
            try:
                await self.assessor.trial_end(job.trial_job_id, event == "SUCCEEDED")
            except Exception as err:
                log.exception("assessor.trial_end(%s) failed: %s", job.trial_job_id, err)

    async def _end_parameter(self, state: ParameterState, reason: str) -> None:
        success = state.final_value is not None
        try:
            await self.tuner.trial_end(
                state.parameter_id,
                success,
                trial_job_id=state.trial_job_id,
                parameter_index=state.index,
            )
        except Exception as err:
            self._tuner_failed(f"trial_end({state.parameter_id})", err)
        finally:
            state.resolve(TrialOutcome(state.parameter_id, False, reason=reason))

    def _task_failed(self, err: BaseException) -> None:
        """An unexpected error in a request task: the dispatcher ends with it, as it would
        with an error in any of its tasks."""
        if self._failure is None:
            self._failure = err if isinstance(err, Exception) else RuntimeError(repr(err))
            self._failed.set()

    def _tuner_failed(self, call: str, err: Exception) -> None:
        message = f"tuner {self.tuner.name}.{call} failed: {type(err).__name__}: {err}"
        log.error(message, exc_info=err)
        self._fatal(message)

    def _fatal(self, message: str) -> None:
        self.store.add_event("TUNER_ERROR", None, message)
        self.stop_new_parameters()
        self._on_fatal(message)

    # --- parameter events -------------------------------------------------------------

    async def wait_for_result(self, parameter_id: int) -> TrialOutcome:
        """The outcome of ``parameter_id`` once its result reached the tuner, or once its job
        ended without one. Unknown ids raise UnknownParameterError at once."""
        state = self.parameters.get(parameter_id)
        if state is None:
            raise UnknownParameterError(
                f"wait_for_result({parameter_id}): parameter id {parameter_id} was never handed out "
                f"(ids so far: 0..{self._next_parameter_id - 1})"
            )
        job = _asking_job.get()
        if job is not None and not state.done.is_set():
            self.waiting_on[job] = parameter_id
        await state.done.wait()
        assert state.outcome is not None
        return state.outcome
