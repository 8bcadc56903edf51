"""The ledger: what the dispatcher knows about trial jobs and parameter sets, and every rule
that decides from it (ids, repeats, de-duplication, limits), for both modes.

Pure and synchronous: no sockets, no store, no tuner; it is unit-tested on its own. It keeps
only what someone can still need, so memory stays flat however many configurations an
experiment hands out: a parameter set is forgotten once its result has reached the tuner and
its job has moved on or ended; what is forgotten is read back from the store.
"""

from __future__ import annotations

from array import array
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .. import protocol
from .._loop import Flag
from ..errors import ProtocolError
from ..tuner import TrialOutcome


@dataclass(eq=False, slots=True)
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
    generated: Flag = field(default_factory=Flag)
    done: Flag = field(default_factory=Flag)
    outcome: TrialOutcome | None = None
    ended: bool = False  # its trial job ended while the tuner was still generating
    # asynchronous mode: the job's previous set, whose result reaches the tuner first
    previous_done: Flag | None = None

    def resolve(self, outcome: TrialOutcome) -> None:
        if self.outcome is None:
            self.outcome = outcome
            self.done.set()


@dataclass(eq=False, slots=True)
class JobState:
    trial_job_id: str
    identity: bytes  # the ROUTER identity its messages must come from
    asked: int = 0  # configurations given so far (their indexes are 0 .. asked - 1)
    current: ParameterState | None = None  # the one of its latest ask
    earlier: dict[int, ParameterState] = field(default_factory=dict)  # older ones not yet done
    # older ones whose result reached the tuner: their trial_end comes when the job ends
    finished: array = field(default_factory=lambda: array("q"))  # parameter ids
    finished_indexes: array = field(default_factory=lambda: array("q"))
    ended: bool = False


@dataclass(frozen=True, slots=True)
class Ask:
    """NEW_TRIAL decided: ask the tuner for ``state``."""

    state: ParameterState


@dataclass(frozen=True, slots=True)
class Repeat:
    """NEW_TRIAL for an index already asked: answer with ``state`` (None: it was forgotten;
    read it back from the store)."""

    state: ParameterState | None
    index: int


class NoMore:
    """NEW_TRIAL decided: answer NO_MORE_TRIALS."""


@dataclass(slots=True)
class Retry:
    """A parameter set that runs again in a new trial job, with the same id and parameters.

    ``state`` is held here (lost during this run) or rebuilt from the store (resume).
    ``attempt`` counts its runs after the first."""

    state: ParameterState
    lost_job_id: str
    attempt: int
    reason: str


NO_MORE = NoMore()


class Ledger:
    """Job and parameter state, ids and limits.

    ``max_trial_jobs`` (max_trial_number) bounds the trial jobs started, in every mode, as in
    NNI; ``max_configurations`` (max_configuration_number) bounds the configurations handed
    out. In multi-phase mode a job that ended before asking counts as a configuration too, so
    trials that crash at start cannot loop for ever.

    Retries: a job that ended FAILED because the infrastructure lost it (``lost``), or, with
    ``retry_on_failure``, because its trial failed by itself, gives its unfinished parameter
    set (the one it worked on) a new job, up to ``max_retries`` times per set. A retry job
    does not count towards ``max_trial_jobs`` and asks the tuner nothing: its first NEW_TRIAL
    is answered with the retried set. Retries wait in :attr:`retries` for a job to start.
    """

    def __init__(
        self,
        *,
        multi_phase: bool = False,
        async_mode: bool = False,
        max_trial_jobs: int | None = None,
        max_configurations: int | None = None,
        next_parameter_id: int = 0,
        jobs_started: int = 0,
        configurations: int = 0,
        known_job_ids: set[str] | None = None,
        max_retries: int = 0,
        retry_on_failure: bool = False,
        retries: list[Retry] | None = None,
    ) -> None:
        self.multi_phase = multi_phase
        self.async_mode = async_mode
        self.max_trial_jobs = max_trial_jobs
        self.max_configurations = max_configurations
        self.next_parameter_id = next_parameter_id
        self.jobs_started = jobs_started  # counted towards max_trial_jobs (not retries)
        self.next_sequence = len(known_job_ids or ())  # every job's start order
        self.configurations = configurations
        self.exhausted = False  # no configuration will be handed out any more
        self.jobs: dict[str, JobState] = {}  # jobs that run
        self.parameters: dict[int, ParameterState] = {}  # parameter sets someone may need
        self._known_job_ids = set(known_job_ids or ())  # every job id ever used here
        # why forgotten parameter sets failed (rare; a success is read back from the store)
        self.failures: dict[int, str] = {}
        self.max_retries = max_retries
        self.retry_on_failure = retry_on_failure
        self.retries: deque[Retry] = deque(retries or ())  # waiting for a job to start
        # parameter id -> runs after its first
        self._attempts: dict[int, int] = {r.state.parameter_id: r.attempt for r in self.retries}
        for retry in self.retries:
            self.parameters[retry.state.parameter_id] = retry.state

    # --- jobs -------------------------------------------------------------------------

    def can_start_job(self) -> bool:
        """Whether a retry waits, or the limits let one more trial job start."""
        if self.retries:
            return True
        limit = self.max_trial_jobs
        return not self.exhausted and (limit is None or self.jobs_started < limit)

    def is_known_job(self, trial_job_id: str) -> bool:
        return trial_job_id in self._known_job_ids

    def register_job(self, trial_job_id: str, retry: Retry | None = None) -> JobState:
        """A trial job that is about to start; its id must be new. A retry job holds its
        retried parameter set as its first (index 0) from the start."""
        if trial_job_id in self._known_job_ids:
            raise ValueError(f"trial job id {trial_job_id!r} is taken")
        self._known_job_ids.add(trial_job_id)
        self.next_sequence += 1
        job = self.jobs[trial_job_id] = JobState(trial_job_id, trial_job_id.encode())
        if retry is None:
            self.jobs_started += 1
            return job
        state = retry.state
        state.trial_job_id, state.index = trial_job_id, 0
        state.history, state.sequences = [], set()  # the new run reports from the start
        state.previous_done = None
        self.parameters[state.parameter_id] = state
        job.asked, job.current = 1, state
        return job

    def next_retry(self) -> Retry | None:
        return self.retries.popleft() if self.retries else None

    def retry_after(self, job: JobState, event: str, lost: bool, reason: str) -> Retry | None:
        """Whether the ended ``job``'s unfinished parameter set runs again; if so it is taken
        from the job (its trial_end waits for the retry's end) and queued."""
        if event != "FAILED" or not (lost or self.retry_on_failure):
            return None
        state = job.current
        if state is None or state.parameters is None or state.final_value is not None:
            return None  # nothing to run again (no parameters yet, or its result is in)
        attempt = self._attempts.get(state.parameter_id, 0) + 1
        if attempt > self.max_retries:
            return None
        self._attempts[state.parameter_id] = attempt
        job.current = None  # it stays in self.parameters: waiters on its result keep waiting
        retry = Retry(state, job.trial_job_id, attempt, reason)
        self.retries.append(retry)
        return retry

    def abandon_retries(self) -> list[Retry]:
        """The retries that will not start (the experiment stops), taken from the queue."""
        abandoned = list(self.retries)
        self.retries.clear()
        return abandoned

    def job_from(self, trial_job_id: str, identity: bytes) -> JobState:
        """The running job a trial's message names; the message must come from that job's
        own socket (its ROUTER identity is the job id), so no peer can speak for another."""
        job = self.jobs.get(trial_job_id)
        if job is not None and job.identity == identity:
            return job
        if identity != trial_job_id.encode():
            peer = identity.decode(errors="replace")
            message = f"peer {peer!r} may not speak for trial job {trial_job_id!r}"
        elif trial_job_id in self._known_job_ids:
            message = f"trial job {trial_job_id!r} has ended"
        else:
            message = f"unknown trial job {trial_job_id!r}"
        raise ProtocolError(protocol.E_UNKNOWN_TRIAL, message)

    def job_ended(self, trial_job_id: str) -> JobState | None:
        """A job's process ended; returns its state (None when unknown or already ended).
        Its parameter sets are settled by :meth:`settled`."""
        job = self.jobs.pop(trial_job_id, None)
        if job is None:
            return None
        job.ended = True
        if self.multi_phase and job.asked == 0:
            self._count_configuration()
        return job

    # --- parameter sets ---------------------------------------------------------------

    def new_trial(self, job: JobState, index: int) -> Ask | Repeat | NoMore:
        """What to do with NEW_TRIAL ``index`` of ``job``. Without multi-phase every ask is
        the job's first (same configuration, the tuner is not asked again)."""
        if not self.multi_phase:
            index = 0
        if index < job.asked:
            current = job.current
            if current is not None and current.index == index:
                return Repeat(current, index)
            earlier = next((s for s in job.earlier.values() if s.index == index), None)
            return Repeat(earlier, index)
        if index > job.asked:
            raise ProtocolError(
                protocol.E_FIELD,
                f"NEW_TRIAL: parameter_index {index} of trial job {job.trial_job_id!r} skips "
                f"ahead (next is {job.asked})",
            )
        if self.max_configurations is not None and self.configurations >= self.max_configurations:
            self.exhausted = True
        if self.exhausted:
            return NO_MORE
        previous = job.current
        state = ParameterState(self.next_parameter_id, job.trial_job_id, index)
        if self.async_mode and previous is not None and previous.final_value is not None:
            state.previous_done = previous.done
        self.next_parameter_id += 1
        self._count_configuration()
        self.parameters[state.parameter_id] = state
        job.asked += 1
        job.current = state
        if previous is not None:
            self._retire(job, previous)
        return Ask(state)

    def _count_configuration(self) -> None:
        self.configurations += 1
        if self.max_configurations is not None and self.configurations >= self.max_configurations:
            self.exhausted = True  # the last one: nobody needs to ask again to learn it

    def _retire(self, job: JobState, state: ParameterState) -> None:
        """``state`` is no longer its job's current set."""
        if state.outcome is not None and state.final_value is not None:
            self._finish(job, state)
        else:
            job.earlier[state.parameter_id] = state

    def dropped(self, state: ParameterState) -> None:
        """The tuner produced nothing for ``state`` (NoMoreTrials, or the experiment stopped):
        its id is not reused, and it does not count."""
        job = self.jobs.get(state.trial_job_id)
        if job is not None and job.current is state:
            job.current = None
            job.asked -= 1
        elif job is not None:
            job.earlier.pop(state.parameter_id, None)
        self.parameters.pop(state.parameter_id, None)
        self.configurations -= 1
        state.generated.set()
        state.resolve(
            TrialOutcome(state.parameter_id, False, reason="the tuner produced no parameters")
        )

    def reported_on(self, job: JobState, parameter_id: int) -> ParameterState:
        """The parameter set a report names; it must be one given to ``job``."""
        state = self.parameters.get(parameter_id)
        if state is None or state.trial_job_id != job.trial_job_id or state.parameters is None:
            raise ProtocolError(
                protocol.E_UNKNOWN_PARAMETER,
                f"trial job {job.trial_job_id!r} was not given parameter id {parameter_id}",
            )
        return state

    def finished_by(self, job: JobState, parameter_id: int) -> bool:
        """Whether ``parameter_id`` is a set of ``job`` whose final result reached the tuner
        and was forgotten (the job moved on): a final report on it again is a retry of one
        stored already. The search of the job's sets is made only for a forgotten one."""
        return parameter_id not in self.parameters and parameter_id in job.finished

    @staticmethod
    def final(state: ParameterState, value: float, raw: Any) -> bool:
        """Record a final result; False for a repeat (one final result per parameter set)."""
        if state.final_value is not None:
            return False
        state.final_value, state.final_metric = value, raw
        state.sequences = set()  # intermediate results of a finished set are not assessed
        return True

    @staticmethod
    def intermediate(state: ParameterState, sequence: int, value: float) -> bool:
        """Record an intermediate result; False for a repeat of a sequence number."""
        if state.final_value is not None or sequence in state.sequences:
            return False
        state.sequences.add(sequence)
        state.history.append(value)
        return True

    def delivered(self, state: ParameterState) -> None:
        """The final result of ``state`` reached the tuner: waiters wake; once its job has
        moved on, nothing but the job's end needs it any more."""
        state.resolve(TrialOutcome(state.parameter_id, True, state.final_value, state.final_metric))
        state.history = []
        job = self.jobs.get(state.trial_job_id)
        if job is not None and job.earlier.pop(state.parameter_id, None) is not None:
            self._finish(job, state)

    def _finish(self, job: JobState, state: ParameterState) -> None:
        self._forget(state)
        job.finished.append(state.parameter_id)
        job.finished_indexes.append(state.index)

    def settled(self, job: JobState) -> tuple[list[tuple[int, int]], list[ParameterState]]:
        """An ended job's parameter sets for trial_end: (parameter id, index) of those whose
        result reached the tuner (and were forgotten), and the states still held, in the
        order they were asked. The states are forgotten once the caller has resolved them
        (:meth:`forget`)."""
        states = sorted(job.earlier.values(), key=lambda s: s.index)
        if job.current is not None:
            states.append(job.current)
        finished = list(zip(job.finished, job.finished_indexes, strict=True))
        job.earlier, job.current = {}, None
        job.finished, job.finished_indexes = array("q"), array("q")
        return finished, states

    def forget(self, state: ParameterState) -> None:
        """``state`` is settled (its outcome resolved): nobody needs more than its outcome."""
        outcome = state.outcome
        if outcome is not None and not outcome.succeeded and outcome.reason is not None:
            self.failures[state.parameter_id] = outcome.reason
        self._forget(state)

    def _forget(self, state: ParameterState) -> None:
        self.parameters.pop(state.parameter_id, None)
        self._attempts.pop(state.parameter_id, None)

    def issued_before(self, parameter_id: int) -> bool:
        """Whether ``parameter_id`` was handed out (it may be forgotten since)."""
        return 0 <= parameter_id < self.next_parameter_id
