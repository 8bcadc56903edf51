"""Routing: each wire message to the ledger, the tuner and the store, and each answer back.

This is the only place where tuners and training services meet. The parts it routes between
each know one thing: the :class:`~.ledger.Ledger` (state, ids, limits), the
:class:`~.server.SocketServer` (socket, group commit, outbox), the
:class:`~.scheduling.TunerScheduler` (which task calls the tuner, in which order) and the
:class:`~.observer.ExperimentObserver` (what the progress view and the dashboard show).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import TaskGroup

from .. import protocol, transport
from ..errors import NoMoreTrials, ProtocolError, UnknownParameterError
from ..protocol import TrialEvent
from ..store import Event, JobEnd, JobStart, Metric, ParameterSet, Store
from ..store.records import wait_for_result_event
from ..tuner import TrialOutcome, TunerDriver
from .ledger import Ask, JobState, Ledger, ParameterState, Repeat, Retry
from .observer import ExperimentObserver
from .scheduling import TunerScheduler, asking
from .server import SocketServer

log = logging.getLogger("asyncnni.dispatcher")

PARAMETER_SOURCE = "algorithm"
LOST_CONNECTION_GRACE = 2.0  # seconds: a trial's end drops its connection before it is reported


class Dispatcher:
    """Routes wire messages between trial jobs, the tuner, the assessor and the store.

    ``on_kill(trial_job_id, reason)`` is called when the assessor stops a trial;
    ``on_fatal(message)`` when the tuner fails and the experiment cannot go on;
    ``on_exhausted()`` once no more parameters will be handed out.
    """

    def __init__(
        self,
        tuner: object,
        store: Store,
        *,
        address: str,
        ledger: Ledger | None = None,
        multi_phase: bool = False,
        async_mode: bool = False,
        max_configurations: int | None = None,
        observer: ExperimentObserver | None = None,
        assessor: Any = None,
        on_kill: Callable[[str, str], None] | None = None,
        on_fatal: Callable[[str], None] | None = None,
        on_exhausted: Callable[[], None] | None = None,
        shared_dir: Path | None = None,
        curve: transport.CurveServer | None = None,
    ) -> None:
        self.ledger = ledger or Ledger(
            multi_phase=multi_phase, async_mode=async_mode, max_configurations=max_configurations
        )
        self.async_mode = self.ledger.async_mode
        self.tuner = tuner if isinstance(tuner, TunerDriver) else TunerDriver(tuner)
        self.tuner.attach(self.wait_for_result, shared_dir)
        self.store = store
        self.observer = observer or ExperimentObserver()
        self.assessor = assessor
        self.server = SocketServer(
            address, store, self._handle_batch, curve, self._connections_lost
        )
        self.scheduler = TunerScheduler(
            async_mode=self.async_mode, on_done=self.server.settle, on_error=self.server.fail
        )
        # the peer that may send TRIAL_END over the wire: a training service's agent elsewhere
        self.service_identity = f"asyncnni-service-{secrets.token_hex(8)}".encode()
        self._on_kill = on_kill or (lambda job, reason: None)
        self._on_fatal = on_fatal or (lambda message: None)
        self._on_exhausted = on_exhausted or (lambda: None)
        self._told_exhausted = False
        self._tg: TaskGroup | None = None
        # peer -> (the head of its intermediate reports (version 2 or later) on the parameter
        # set it last reported on, that set): such a frame is decoded by its tail only
        self._report_heads: dict[bytes, tuple[bytes, ParameterState]] = {}

    # --- lifecycle --------------------------------------------------------------------

    async def serve(
        self, *, task_status: anyio.abc.TaskStatus[str] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Bind, then route until cancelled. ``task_status.started`` gets the address."""
        address = self.server.open()
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                tg.start_soon(self.server.serve)
                task_status.started(address)
        finally:
            with anyio.CancelScope(shield=True):
                await self.scheduler.close()
            self.server.close()

    def close(self) -> None:
        """Store what was recorded after the dispatcher stopped serving (the ends of trial
        jobs cancelled with it)."""
        self.server.close()

    @property
    def address(self) -> str | None:
        return self.server.address

    @property
    def exhausted(self) -> bool:
        return self.ledger.exhausted

    @property
    def issued(self) -> int:
        """Configurations handed out (with, in multi-phase mode, jobs that died before asking)."""
        return self.ledger.configurations

    @property
    def waiting_on(self) -> dict[str, int]:
        return self.observer.progress.waiting_on

    def register_job(
        self,
        trial_job_id: str,
        sequence: int | None = None,
        trial_dir: str = "",
        retry: Retry | None = None,
    ) -> None:
        """A training service announces a trial job before it starts; it is recorded as
        RUNNING. A retry job takes over its retried parameter set (the store moves the set
        to it and keeps a TRIAL_RETRY event). Raises ValueError for an id already used."""
        self.ledger.register_job(trial_job_id, retry)
        number = self.ledger.next_sequence - 1 if sequence is None else sequence
        self.server.record(JobStart(trial_job_id, number, trial_dir))
        if retry is not None:
            state = retry.state
            assert state.parameters is not None
            self.server.record_parameter_set(
                ParameterSet(
                    state.parameter_id, trial_job_id, 0, state.parameters, PARAMETER_SOURCE
                )
            )
            detail = (
                f"parameter id {state.parameter_id} runs again as trial job {trial_job_id} "
                f"(retry {retry.attempt}): {retry.reason}"
            )
            self.server.record(Event("TRIAL_RETRY", retry.lost_job_id, detail))
            log.warning("trial job %s: %s", retry.lost_job_id, detail)
        self.observer.job_started(trial_job_id)

    def abandon_retries(self, reason: str) -> None:
        """The experiment stops: the retries still waiting end as failed (the tuner hears
        their trial_end, waiters wake)."""
        for retry in self.ledger.abandon_retries():
            state = retry.state
            self.scheduler.feedback(
                lambda state=state: self._end_parameter(state, f"not run again: {reason}")
            )

    async def drain(self) -> None:
        """Return once every result and trial end received so far has reached the tuner (and
        the assessor)."""
        await self.scheduler.drain()

    def import_data(self, data: list[dict]) -> None:
        """Results from elsewhere (``asyncnni experiment import``) for the tuner's
        ``import_data``, in order with the results received so far. A tuner that fails on
        them is logged; the experiment goes on (the results were the user's, not the run's)."""

        async def command() -> None:
            try:
                await self.tuner.import_data(data)
            except Exception as err:
                log.error(
                    "tuner %s.import_data failed: %s: %s", self.tuner.name, type(err).__name__, err
                )
            else:
                log.info("%d imported results handed to the tuner", len(data))

        self.scheduler.feedback(command)

    def stop_new_parameters(self) -> None:
        """From now on every NEW_TRIAL is answered NO_MORE_TRIALS."""
        self.ledger.exhausted = True
        self._check_exhausted()

    def cancel_generating(self) -> None:
        """The experiment stops: every NEW_TRIAL the tuner still works on (a child waiting on
        its parent, a plain tuner blocked in its thread) is cancelled and answered
        NO_MORE_TRIALS, and so is every later one."""
        self.scheduler.cancel_all()
        self.stop_new_parameters()

    def _check_exhausted(self) -> None:
        if self.ledger.exhausted and not self._told_exhausted:
            self._told_exhausted = True
            self._on_exhausted()

    # --- connections ------------------------------------------------------------------

    def _connections_lost(self, identities: list[bytes]) -> None:
        """Trials' connections dropped. A trial that ends drops its connection too, usually
        a moment before its training service reports the end: a job still running after
        LOST_CONNECTION_GRACE is logged. Nothing else follows: the training service decides
        how a job ends (a network blip heals, ZeroMQ reconnects and the trial goes on; a trial
        that stays cut off raises TrialError and exits, and its service reports that)."""
        loop = asyncio.get_running_loop()
        for identity in identities:
            job_id = identity.decode(errors="replace")
            if job_id in self.ledger.jobs:
                loop.call_later(LOST_CONNECTION_GRACE, self._still_running_after_loss, job_id)

    def _still_running_after_loss(self, trial_job_id: str) -> None:
        if trial_job_id in self.ledger.jobs:
            log.warning(
                "trial job %s: its connection to the dispatcher dropped while it runs", trial_job_id
            )

    # --- incoming messages ------------------------------------------------------------

    def _handle_batch(self, batch: list[tuple[bytes, bytes]]) -> None:
        """Route every message of a burst, then run the tuner commands it brought, in the
        burst: one wake-up per burst, and the PARAMETERS it answers go out before its
        commit. A result is stored before the tuner hears of it, so reports commit first."""
        scheduler = self.scheduler
        scheduler.holding = True
        try:
            self._route(batch)
        finally:
            scheduler.holding = False
        if scheduler.ready:
            if self.server.holds_metrics:  # their ACKs go out with the commands' answers
                self.server.commit()
            scheduler.run()

    def _route(self, batch: list[tuple[bytes, bytes]]) -> None:
        heads = self._report_heads
        parameters = self.ledger.parameters
        for identity, frame in batch:
            try:
                # the hot path: the next intermediate result on the set a peer reported on
                cached = heads.get(identity)
                if cached is not None and frame.startswith(cached[0]):
                    head, state = cached
                    fields = protocol.report_tail(frame, len(head))
                    if fields is not None and parameters.get(state.parameter_id) is state:
                        req, sequence, value = fields
                        self._intermediate(state, sequence, value, value)
                        self.server.ack_after_commit(identity, req)
                        continue
                message = protocol.decode(frame)
                if message["v"] != protocol.VERSION:  # answered in its own version
                    self.server.older_peers[identity] = message["v"]
                kind = message["kind"]
                if kind == protocol.REPORT_METRIC:
                    job = self._on_report(identity, message)
                    following = message.get("next_index")  # version 3: and the next one
                    if following is not None:
                        self._new_trial(identity, message["req"], job, following)
                elif kind == protocol.NEW_TRIAL:
                    self._on_new_trial(identity, message)
                elif kind == protocol.TRIAL_END:
                    self._on_trial_end(identity, message)
                else:
                    raise ProtocolError(protocol.E_KIND, f"{kind} is not sent to the dispatcher")
            except ProtocolError as err:
                log.warning("refused a message from %r: %s", identity, err)
                req, version = protocol.request_id(frame), protocol.answer_version(frame)
                self.server.send(identity, protocol.error(err.code, str(err), req, version))

    def _v(self, identity: bytes) -> int:
        """The protocol version to answer ``identity`` in."""
        return self.server.older_peers.get(identity, protocol.VERSION)

    def _on_new_trial(self, identity: bytes, message: dict) -> None:
        job = self.ledger.job_from(message["trial_job_id"], identity)
        self._new_trial(identity, message["req"], job, message["parameter_index"])

    def _new_trial(self, identity: bytes, req: int, job: JobState, index: int) -> None:
        """The job asks for its configuration ``index`` (a NEW_TRIAL, or a final report
        that asks for the next one with it); the answer echoes ``req``."""
        decision = self.ledger.new_trial(job, index)
        if type(decision) is Ask:
            state = decision.state
            self._check_exhausted()
            self.scheduler.request(lambda: self._generate(identity, req, state))
        elif type(decision) is Repeat:
            self._answer_repeat(identity, req, job, decision)
        else:
            self._check_exhausted()
            self._no_more_trials(identity, req)

    def _no_more_trials(self, identity: bytes, req: int) -> None:
        self.server.answer(identity, protocol.no_more_trials(req, self._v(identity)))
        self.server.check_readable()

    def _answer_repeat(self, identity: bytes, req: int, job: JobState, repeat: Repeat) -> None:
        state = repeat.state
        if state is None:  # asked long ago and forgotten here: the store has it
            stored = self.store.parameter_set(job.trial_job_id, repeat.index)
            assert stored is not None, "a forgotten parameter set is stored"
            self._send_parameters(
                identity, req, stored.parameter_id, stored.parameter_index, stored.parameters
            )
        elif state.generated.is_set():
            self._answer_parameters(identity, req, state)
        else:  # a repeat while the tuner still thinks: answer when it is done
            assert self._tg is not None
            self._tg.start_soon(self._answer_when_generated, identity, req, state)

    def _on_report(self, identity: bytes, message: dict) -> JobState:
        """Record a report (once) and promise its ACK; returns the reporting job."""
        job_id = message["trial_job_id"]
        job = self.ledger.job_from(job_id, identity)
        parameter_id, version = message["parameter_id"], message["v"]
        final = message["type"] == protocol.FINAL
        # a repeat (a retry after a lost ACK) is acknowledged again but stored and seen once;
        # a final one may come after its result reached the tuner and the job moved on
        if not (final and self.ledger.finished_by(job, parameter_id)):
            state = self.ledger.reported_on(job, parameter_id)
            raw = message["value"]
            value = raw if type(raw) is float else protocol.metric_scalar(raw)  # decode checked
            if final:
                if self.ledger.final(state, value, raw):
                    self.server.record_metric(
                        Metric(job_id, parameter_id, protocol.FINAL, 0, value, raw)
                    )
                    self.scheduler.feedback(lambda: self._deliver_result(state))
            else:
                self._intermediate(state, message["sequence"], value, raw)
                cached = self._report_heads.get(identity)
                if version > 1 and (cached is None or cached[1] is not state):
                    head = protocol.report_head(job_id, parameter_id, protocol.PERIODICAL, version)
                    self._report_heads[identity] = (head, state)
        if version == 1:
            self.server.send_after_commit(identity, protocol.ack(message["req"], 1))
        else:  # one cumulative ACK per peer and commit
            self.server.ack_after_commit(identity, message["req"])
        return job

    def _intermediate(self, state: ParameterState, sequence: int, value: float, raw: Any) -> None:
        if self.ledger.intermediate(state, sequence, value):
            job_id = state.trial_job_id
            self.server.record_metric(
                Metric(job_id, state.parameter_id, protocol.PERIODICAL, sequence, value, raw)
            )
            self.observer.intermediate(job_id, state.parameter_id, value)
            if self.tuner.hears_intermediate:
                self.scheduler.feedback(
                    lambda: self._deliver_intermediate(state, sequence, value, raw)
                )
            if self.assessor is not None:
                self.scheduler.feedback(lambda: self._assess(state))

    def _on_trial_end(self, identity: bytes, message: dict) -> None:
        if identity != self.service_identity:
            raise ProtocolError(
                protocol.E_NOT_ALLOWED,
                "TRIAL_END is accepted only from the training service, not from a trial",
            )
        if message["trial_job_id"] not in self.ledger.jobs:
            raise ProtocolError(
                protocol.E_UNKNOWN_TRIAL, f"no running trial job {message['trial_job_id']!r}"
            )
        self.job_ended(message["trial_job_id"], message["event"], message["exit_code"])

    # --- the tuner's side -------------------------------------------------------------

    async def _generate(self, identity: bytes, req: int, state: ParameterState) -> None:
        try:
            params = None if self.scheduler.cancelled else await self._ask_tuner(state)
            if params is not None:  # a value that cannot be sent or stored is the tuner's error
                params = protocol.plain_values(params)
        except anyio.get_cancelled_exc_class():
            if self.scheduler.closing:
                raise
            params = None  # the experiment stopped while the tuner worked on it
        except Exception as err:
            self.ledger.dropped(state)
            message = (
                f"tuner {self.tuner.name}.generate_parameters({state.parameter_id}) failed: "
                f"{type(err).__name__}: {err}"
            )
            log.exception(message)
            self.server.send(
                identity, protocol.error(protocol.E_TUNER, message, req, self._v(identity))
            )
            self._fatal(message)
            return
        if params is None:  # NoMoreTrials, or the experiment stopped meanwhile
            self.ledger.dropped(state)
            self._no_more_trials(identity, req)
            return
        state.parameters = params
        if not state.ended:  # the answer first: what follows is bookkeeping
            self._answer_parameters(identity, req, state)
        self.server.record_parameter_set(
            ParameterSet(
                state.parameter_id, state.trial_job_id, state.index, params, PARAMETER_SOURCE
            )
        )
        state.generated.set()
        if state.ended:  # its job died while the tuner thought: nobody to answer
            self.scheduler.feedback(
                lambda: self._end_parameter(state, "its trial job ended before it started")
            )

    async def _ask_tuner(self, state: ParameterState) -> dict | None:
        """The tuner's parameters for ``state``; None when it raised NoMoreTrials or when the
        experiment stopped while it thought. In asynchronous mode the job's previous result
        reaches the tuner before its next request does, as in serial mode."""
        asking.set((state.trial_job_id, state.parameter_id))
        try:
            if state.previous_done is not None:
                await state.previous_done.wait()
                state.previous_done = None
            params = await self.tuner.generate_parameters(
                state.parameter_id, trial_job_id=state.trial_job_id, parameter_index=state.index
            )
        except NoMoreTrials:
            self.stop_new_parameters()
            return None
        finally:
            self.observer.waiting(state.trial_job_id, None)
        return None if self.scheduler.cancelled else params

    def _answer_parameters(self, identity: bytes, req: int, state: ParameterState) -> None:
        assert state.parameters is not None
        self._send_parameters(identity, req, state.parameter_id, state.index, state.parameters)

    def _send_parameters(
        self, identity: bytes, req: int, parameter_id: int, index: int, params: dict
    ) -> None:
        """Sent at once, before the commit of the parameter set's row: PARAMETERS promises no
        durability of its own (the ACK it may carry does), and any report on the set is
        committed with or after that row."""
        message = protocol.parameters(
            req, parameter_id, index, params, PARAMETER_SOURCE, self._v(identity)
        )
        self.server.answer(identity, message)  # the flush checks input

    async def _answer_when_generated(
        self, identity: bytes, req: int, state: ParameterState
    ) -> None:
        await state.generated.wait()
        if state.parameters is None:
            self._no_more_trials(identity, req)
        else:
            self._answer_parameters(identity, req, state)
            self.server.flush_soon()

    async def _deliver_result(self, state: ParameterState) -> None:
        assert state.final_value is not None and state.parameters is not None
        self.observer.result(
            state.trial_job_id, state.parameter_id, state.final_value, state.parameters
        )
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
            self.ledger.delivered(state)

    async def _deliver_intermediate(
        self, state: ParameterState, sequence: int, value: float, raw: Any
    ) -> None:
        """Only for a tuner that has ``receive_intermediate_result``; in report order."""
        assert state.parameters is not None
        try:
            await self.tuner.receive_intermediate_result(
                state.parameter_id,
                state.parameters,
                value,
                trial_job_id=state.trial_job_id,
                parameter_index=state.index,
                sequence=sequence,
                metric=raw,
            )
        except Exception as err:
            self._tuner_failed(f"receive_intermediate_result({state.parameter_id})", err)

    async def _assess(self, state: ParameterState) -> None:
        if state.trial_job_id not in self.ledger.jobs or state.final_value is not None:
            return
        history = list(state.history)
        try:
            verdict = await self.assessor.assess_trial(
                state.trial_job_id, history, parameter_id=state.parameter_id
            )
        except Exception as err:
            log.exception("assessor failed on trial %s: %s", state.trial_job_id, err)
            return
        if not getattr(verdict, "value", verdict):
            reason = f"assessor stopped it after {len(history)} intermediate results"
            self.server.record(Event("ASSESSOR_KILL", state.trial_job_id, reason))
            self._on_kill(state.trial_job_id, reason)

    def job_ended(
        self,
        trial_job_id: str,
        event: str,
        exit_code: int | None,
        message: str | None = None,
        *,
        lost: bool = False,
    ) -> None:
        """A trial job's process ended. Its parameter sets without a final result end as
        failed (the tuner hears ``trial_end(success=False)`` and waiters wake), unless the
        ledger queues the one it worked on for a retry (``lost``: the infrastructure lost
        the job); then nobody hears of it until the retry ends."""
        job = self.ledger.job_ended(trial_job_id)
        if job is None:
            return
        self.server.older_peers.pop(job.identity, None)
        self._report_heads.pop(job.identity, None)
        event = TrialEvent(event)
        retry = self.ledger.retry_after(job, event, lost, message or f"it ended {event}")
        if retry is not None:
            message = f"{message or event}; parameter id {retry.state.parameter_id} runs again"
        self._check_exhausted()
        self.server.record(JobEnd(trial_job_id, event, exit_code, message))
        self.observer.job_ended(trial_job_id, event, message)
        self.scheduler.feedback(lambda: self._end_job(job, event, exit_code, message))

    async def _end_job(
        self, job: JobState, event: TrialEvent, exit_code: int | None, message: str | None
    ) -> None:
        finished, states = self.ledger.settled(job)
        for parameter_id, index in finished:  # their results reached the tuner already
            await self._trial_end(job.trial_job_id, parameter_id, index, True)
        reason = f"trial job {job.trial_job_id} ended {event}" + (
            f" (exit code {exit_code})" if exit_code not in (None, 0) else ""
        )
        for state in states:
            if not state.generated.is_set():
                state.ended = True  # _generate ends it when the tuner answers
                continue
            if state.final_value is None and state is not states[-1]:
                log.warning(
                    "trial job %s: parameter id %d got no final result before the next "
                    "get_next_parameter(); it counts as failed",
                    job.trial_job_id,
                    state.parameter_id,
                )
            await self._end_parameter(state, reason + (f": {message}" if message else ""))
        if self.assessor is not None:
            try:
                await self.assessor.trial_end(job.trial_job_id, event == TrialEvent.SUCCEEDED)
            except Exception as err:
                log.exception("assessor.trial_end(%s) failed: %s", job.trial_job_id, err)

    async def _end_parameter(self, state: ParameterState, reason: str) -> None:
        try:
            success = state.final_value is not None
            await self._trial_end(state.trial_job_id, state.parameter_id, state.index, success)
        finally:
            state.resolve(TrialOutcome(state.parameter_id, False, reason=reason))
            self.ledger.forget(state)

    async def _trial_end(
        self, trial_job_id: str, parameter_id: int, index: int, success: bool
    ) -> None:
        try:
            await self.tuner.trial_end(
                parameter_id, success, trial_job_id=trial_job_id, parameter_index=index
            )
        except Exception as err:
            self._tuner_failed(f"trial_end({parameter_id})", err)

    def _tuner_failed(self, call: str, err: Exception) -> None:
        message = f"tuner {self.tuner.name}.{call} failed: {type(err).__name__}: {err}"
        log.error(message, exc_info=err)
        self._fatal(message)

    def _fatal(self, message: str) -> None:
        self.server.record(Event("TUNER_ERROR", None, message))
        self.stop_new_parameters()
        self._on_fatal(message)

    # --- parameter events -------------------------------------------------------------

    async def wait_for_result(self, parameter_id: int) -> TrialOutcome:
        """The outcome of ``parameter_id`` once its result reached the tuner, or once its job
        ended without one; at once for one that is long settled (read from the store).
        Unknown ids raise UnknownParameterError at once."""
        state = self.ledger.parameters.get(parameter_id)
        if state is None:
            if not self.ledger.issued_before(parameter_id):
                raise UnknownParameterError(
                    f"wait_for_result({parameter_id}): parameter id {parameter_id} was never "
                    f"handed out (ids so far: 0..{self.ledger.next_parameter_id - 1})"
                )
            self._asked_for_result(parameter_id, False)
            return self._settled_outcome(parameter_id)
        waits = not state.done.is_set()
        if waits and not self.async_mode and asking.get() is not None:
            # its result comes through the very stream that waits
            raise RuntimeError(
                f"wait_for_result({parameter_id}) from a tuner in the serial dispatcher mode "
                "would wait for ever: set async_dispatcher: true"
            )
        self._asked_for_result(parameter_id, waits)
        await state.done.wait()
        assert state.outcome is not None
        return state.outcome

    def _asked_for_result(self, parent_id: int, waits: bool) -> None:
        """A tuner generating a request's parameter set asked for ``parent_id``'s result:
        the observer hears who waits on whom, and the store keeps the link (the lineage
        of a weight-sharing experiment, for the dashboard while it runs and afterwards)."""
        request = asking.get()
        if request is None:  # asked outside a request (from receive_trial_result, say)
            return
        trial_job_id, parameter_id = request
        if waits:
            self.observer.waiting(trial_job_id, parent_id)
        self.server.record(wait_for_result_event(trial_job_id, parameter_id, parent_id, waits))

    def _settled_outcome(self, parameter_id: int) -> TrialOutcome:
        failure = self.ledger.failures.get(parameter_id)
        metric = None if failure is not None else self.store.final_metric(parameter_id)
        if metric is None:
            reason = failure or "it ended without a final result"
            return TrialOutcome(parameter_id, False, reason=reason)
        return TrialOutcome(parameter_id, True, metric.value, metric.raw)
