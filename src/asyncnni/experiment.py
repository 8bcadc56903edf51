"""An experiment: config + store + dispatcher + training service + stop rules, in one task group."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import secrets
import signal
import string
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from . import auth, imports, nni_compat, training, transport, tuners
from .assessor import AssessorDriver
from .config import (
    ExperimentConfig,
    PluginConfig,
    config_from_dict,
    config_from_record,
    config_to_record,
    default_working_directory,
    load_config,
)
from .control import ControlServer, is_running
from .dispatcher import Best, Dispatcher, ExperimentObserver, Ledger, Progress
from .dispatcher.ledger import ParameterState, Retry
from .errors import AsyncNNIError, ConfigError, PluginError
from .plugins import Registry, construct, load_class
from .protocol import TrialEvent, metric_scalar
from .store import (
    ExperimentRecord,
    ParameterSet,
    Store,
    StoreReader,
    exists,
    open_reader,
    open_store,
)
from .training import Cancellable, TrainingService, TrialExit, TrialJob
from .tuner import OptimizeMode, TunerDriver

log = logging.getLogger("asyncnni.experiment")

DEADLINE = "max_experiment_duration reached"
STOP_GRACE = 5.0  # seconds a stop waits for the tuner to hear the last results
EXIT_HOOK_GRACE = 30.0  # seconds a plug-in's _on_exit / _on_error may take (they may write files)
_ID_ALPHABET = string.ascii_lowercase + string.digits

__all__ = ["Experiment", "ExperimentResult", "Progress", "TrialSummary"]


def new_id(length: int) -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


@dataclass(frozen=True)
class TrialSummary:
    trial_job_id: str
    sequence: int
    outcome: TrialExit


@dataclass(frozen=True)
class ExperimentResult:
    experiment_id: str
    folder: Path
    status: str  # DONE, STOPPED or ERROR
    message: str | None
    progress: Progress
    best: Best | None = None


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")
    return value


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _setting_up(driver: TunerDriver, call: str, step: Awaitable[None]) -> None:
    """A tuner's set-up call; its failure becomes an error naming the tuner and the call
    (a SearchSpaceError or another asyncnni error already names what is wrong)."""
    try:
        await step
    except AsyncNNIError:
        raise
    except Exception as err:
        raise PluginError(
            f"tuner {driver.name}.{call} failed: {type(err).__name__}: {err}"
        ) from err


async def _close_plugins(
    driver: TunerDriver, assessor: AssessorDriver | None, failed: bool
) -> None:
    """NNI's exit hooks, tuner first: ``_on_exit`` after a normal end (DONE, STOPPED),
    ``_on_error`` when the experiment failed. A hook's failure is logged, never raised (the
    run's own outcome stands); a hook that blocks is abandoned after EXIT_HOOK_GRACE."""
    for plugin in (driver, assessor):
        if plugin is None:
            continue
        with anyio.move_on_after(EXIT_HOOK_GRACE) as waited:
            try:
                await plugin.close(failed)
            except Exception as err:
                log.warning(
                    "%s %s: exit hook failed: %s: %s",
                    plugin.KIND,
                    plugin.name,
                    type(err).__name__,
                    err,
                )
        if waited.cancelled_caught:
            log.warning(
                "%s %s: exit hook still running after %.0f s; abandoned",
                plugin.KIND,
                plugin.name,
                EXIT_HOOK_GRACE,
            )


def _requeued(trial_job_id: str, stored: ParameterSet) -> Retry:
    """A parameter set whose job was running when the experiment died, to run again."""
    state = ParameterState(stored.parameter_id, trial_job_id, stored.parameter_index)
    state.parameters = stored.parameters
    state.generated.set()
    return Retry(state, trial_job_id, 1, "the experiment was interrupted while it ran")


def build_plugin(spec: PluginConfig, registry: Registry, what: str) -> Any:
    """A tuner or assessor from its config: built-in by name, or the user's class."""
    if spec.name is not None:
        return registry.create(spec.name, **spec.class_args)
    assert spec.class_name is not None
    cls = load_class(
        spec.class_name, code_directory=spec.code_directory, class_file_name=spec.class_file_name
    )
    return construct(cls, dict(spec.class_args), f"{what} {spec.class_name}")


def optimize_mode_of(tuner: object, spec: PluginConfig) -> OptimizeMode:
    """The direction of an experiment: the tuner's own ``optimize_mode`` (built-in tuners
    and NNI's carry one, with their default), else the class arg, else maximize."""
    for mode in (getattr(tuner, "optimize_mode", None), spec.class_args.get("optimize_mode")):
        if mode is not None:
            try:
                return OptimizeMode.parse(mode)
            except ValueError:
                continue
    return OptimizeMode.MAXIMIZE


@dataclass(frozen=True)
class PreviousRun:
    """What a resumed experiment takes over from its store."""

    trial_job_ids: set[str]
    next_parameter_id: int
    counted_configurations: int
    results: list[dict]  # [{"parameter": ..., "value": ..., "parameter_id": ...}] for import_data
    counts: dict[str, int]

    @classmethod
    def read(cls, store: StoreReader) -> PreviousRun:
        return cls(
            trial_job_ids=store.trial_job_ids(),
            next_parameter_id=store.next_parameter_id(),
            counted_configurations=store.counted_configurations(),
            results=store.final_results(),
            counts=store.counts(),
        )

    def best(self, mode: OptimizeMode) -> Best | None:
        best: Best | None = None
        for result in self.results:
            value = metric_scalar(result["value"])
            if best is None or mode.better(value, best.value):
                best = Best(result["parameter_id"], "", value, result["parameter"])
        return best


class Experiment:
    """Runs one experiment to its end: ``Experiment.from_yaml(path).run()`` or ``await exp.arun()``.

    The experiment ends at ``max_trial_number`` (trial jobs) or ``max_configuration_number``,
    ``max_experiment_duration``, when the tuner has no more trials and nothing runs, on
    :meth:`stop`, or on SIGINT/SIGTERM (trials are terminated, the store is closed; nothing
    stored is lost; a second signal stops at once). A failing trial never stops it; a failing
    tuner does (status ERROR, with the tuner's error as message).

    ``on_start(experiment)`` is called once the tuner took the search space and the store
    exists (nothing is announced before a config or tuner error could still refuse the run);
    ``on_trial_end(summary)`` after each trial job.
    """

    def __init__(
        self, config: ExperimentConfig | dict, *, experiment_id: str | None = None
    ) -> None:
        self.config = config if isinstance(config, ExperimentConfig) else config_from_dict(config)
        try:
            self._service_class = training.service_class(self.config.training_service.platform)
        except training.PlatformUnavailable as err:
            raise ConfigError(f"training_service.platform: {err}") from None
        self.id = experiment_id or new_id(8)
        self.folder = Path(self.config.experiment_working_directory).expanduser() / self.id
        self.observer = ExperimentObserver()
        self.on_start: Callable[[Experiment], None] | None = None
        self.on_trial_end: Callable[[TrialSummary], None] | None = None
        self._stop_reason: str | None = None
        self._error: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: anyio.Event | None = None
        self._service: TrainingService | None = None
        self._scope: anyio.CancelScope | None = None
        self._deadline: Cancellable | None = None  # max_experiment_duration's timer
        self._started_at: float | None = None  # on the training service's clock
        self.dispatcher: Dispatcher | None = None
        self.address: str | None = None  # the dispatcher's, as trials are told it
        self._auth: str | None = None
        self._resuming = False
        self._trial_env: dict[str, str] = {}  # what every trial job's environment adds

    @property
    def progress(self) -> Progress:
        return self.observer.progress

    @property
    def service(self) -> TrainingService | None:
        """The training service of the run (None before it starts), e.g. for the simulated
        one's virtual clock."""
        return self._service

    @classmethod
    def from_yaml(cls, path: str | Path, **kwargs: Any) -> Experiment:
        return cls(load_config(path), **kwargs)

    @classmethod
    def resume(
        cls, experiment_id: str, working_directory: Path | None = None, **changes: Any
    ) -> Experiment:
        """An experiment that goes on from its store: parameter ids, trial counts and limits
        continue, and the tuner gets every stored result through ``import_data``. ``changes``
        replace config values, e.g. ``max_trial_number=50`` to run more trials.
        Raises LookupError when there is no such experiment."""
        folder = (working_directory or default_working_directory()) / experiment_id
        try:
            reader = open_reader(folder)
        except LookupError:
            raise LookupError(f"no experiment {experiment_id!r} in {folder.parent}") from None
        with reader:
            record = reader.experiment()["config"]
        record["experiment_working_directory"] = str(folder.parent)
        config = dataclasses.replace(config_from_record(record), **changes)
        experiment = cls(config, experiment_id=experiment_id)
        experiment._resuming = True
        return experiment

    def run(self) -> ExperimentResult:
        """Run to the end in a fresh event loop; see :meth:`arun`."""
        return anyio.run(self.arun)

    def stop(self, reason: str = "stopped by the user") -> None:
        """Ask the experiment to end: no new trials, requests the tuner still works on are
        answered NO_MORE_TRIALS, running trials are terminated. Safe from any thread."""
        self._in_loop(self._stop_now, reason)

    @property
    def stopping(self) -> bool:
        return self._stop_reason is not None

    def running_trials(self) -> list[str]:
        """The trial jobs started and not ended yet, in start order."""
        return list(self.dispatcher.ledger.jobs) if self.dispatcher is not None else []

    def kill_trial(self, trial_job_id: str) -> None:
        """End one running trial job; it is recorded USER_CANCELED (as NNI's
        ``nnictl trial kill``) and the launcher starts the next one. Safe from any thread."""
        self._in_loop(self._kill_now, trial_job_id)

    def _kill_now(self, trial_job_id: str) -> None:
        if self._service is not None:
            self._service.kill(trial_job_id, "killed by the user", TrialEvent.USER_CANCELED)

    def set_trial_concurrency(self, value: int) -> None:
        """Run up to ``value`` trial jobs at once from now on (running ones are not ended
        when it shrinks). Safe from any thread."""
        self._in_loop(self._update, "trial_concurrency", _positive_int("trial_concurrency", value))

    def set_max_trial_number(self, value: int) -> None:
        """Start at most ``value`` trial jobs in all (counting those started so far).
        Safe from any thread."""
        value = _positive_int("max_trial_number", value)
        self._in_loop(self._update, "max_trial_number", value)

    def import_data(self, data: list[dict]) -> None:
        """Hand finished results (``[{"parameter": {...}, "value": ...}]``, NNI's import
        format) to the tuner's ``import_data``, in order with the results that arrive.
        Safe from any thread."""
        data = imports.checked(data, "import data")
        self._in_loop(self._import_now, data)

    def _import_now(self, data: list[dict]) -> None:
        if self.dispatcher is not None:
            self.dispatcher.import_data(data)

    def _update(self, name: str, value: Any) -> None:
        self.config = dataclasses.replace(self.config, **{name: value})
        if name == "max_trial_number" and self.dispatcher is not None:
            self.dispatcher.ledger.max_trial_jobs = value
        log.info("%s updated to %s", name, value)
        self._poke()

    def _in_loop(self, function: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is not None and _running_loop() is not loop:
            loop.call_soon_threadsafe(function, *args)
        else:
            function(*args)

    def set_max_experiment_duration(self, seconds: float | None) -> None:
        """Change max_experiment_duration, counted from the start, also while the run goes
        on (None: no limit). Safe from any thread."""
        if seconds is not None and (
            isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0
        ):
            raise ValueError(f"max_experiment_duration must be a positive number, not {seconds!r}")
        self.config = dataclasses.replace(self.config, max_experiment_duration=seconds)
        self._in_loop(self._set_deadline)

    def _set_deadline(self) -> None:
        """(Re)arm max_experiment_duration's timer on the training service's clock: real
        seconds, or simulated ones under ``platform: simulated``."""
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        seconds = self.config.max_experiment_duration
        if seconds and self._started_at is not None and self._service is not None:
            self._deadline = self._service.clock.call_at(
                self._started_at + seconds, lambda: self._stop_now(DEADLINE)
            )

    def _stop_now(self, reason: str) -> None:
        if self._stop_reason is None:
            self._stop_reason = reason
        if self.dispatcher is not None:
            self.dispatcher.cancel_generating()  # before the kills wake children with failures
        if self._service is not None:
            self._service.kill_all(self._stop_reason)
        self._poke()

    # --- the run ----------------------------------------------------------------------

    async def arun(self) -> ExperimentResult:
        config = self.config
        self._loop = asyncio.get_running_loop()
        if not self._resuming and exists(self.folder):
            raise ConfigError(
                f"experiment {self.id} exists in {self.folder}; `asyncnni resume {self.id}` goes on with it"
            )
        if is_running(self.folder):
            raise ConfigError(f"experiment {self.id} is running already")
        # code written for NNI may `import nni`: the tuner and assessor here, trials below
        self._trial_env = nni_compat.trial_env() if nni_compat.activate() else {}
        # everything that can refuse the run does so before anything exists; the service
        # first, so that what it is slow to start (a fork template) starts before the tuner
        service = self._service_class.from_config(config, self.folder)
        async with service.preparing():
            tuner = build_plugin(config.tuner, tuners.registry, "tuner")
            assessor = self._assessor()
            shared_dir = config.shared_storage.local_mount_point if config.shared_storage else None
            driver = TunerDriver(tuner, shared_dir=shared_dir)
            failed = True
            try:
                result = await self._run(driver, assessor, service, shared_dir)
                failed = result.status == "ERROR"
                return result
            finally:
                with anyio.CancelScope(shield=True):
                    await _close_plugins(driver, assessor, failed)

    async def _run(
        self,
        driver: TunerDriver,
        assessor: AssessorDriver | None,
        service: TrainingService,
        shared_dir: Path | None,
    ) -> ExperimentResult:
        config = self.config
        assert config.tuner is not None
        await _setting_up(
            driver, "update_search_space", driver.update_search_space(config.search_space)
        )
        self.observer.optimize_mode = optimize_mode_of(driver.tuner, config.tuner)
        if shared_dir is not None:
            shared_dir.mkdir(parents=True, exist_ok=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        handler = self._log_to_file()
        store = open_store(self.folder)
        try:
            ledger = await self._open(store, driver)
        except BaseException:
            store.close()
            logging.getLogger("asyncnni").removeHandler(handler)
            handler.close()
            raise
        self._service = service
        bind, curve, self._auth = self._listen_on(service)
        self.dispatcher = dispatcher = Dispatcher(
            driver,
            store,
            address=bind,
            curve=curve,
            ledger=ledger,
            observer=self.observer,
            assessor=assessor,
            on_kill=service.kill,
            on_fatal=self._fail,
            on_exhausted=self._poke,
            shared_dir=shared_dir,
        )
        control = ControlServer(self)
        status = "DONE"
        try:
            control.open()  # before the announcement: whoever hears of the run can reach it
            async with service, anyio.create_task_group() as tg:
                self._scope = tg.cancel_scope
                bound = await tg.start(dispatcher.serve)
                tg.start_soon(control.serve)
                self.address = transport.advertised(bound, config.dispatcher.advertise)
                log.info("dispatcher listening on %s; trials connect to %s", bound, self.address)
                if self.on_start is not None:
                    self.on_start(self)
                if threading.current_thread() is threading.main_thread():
                    tg.start_soon(self._handle_signals)
                self._started_at = service.clock.now
                self._set_deadline()
                try:
                    await self._launch_trials(tg, dispatcher, service)
                finally:
                    self._started_at = None
                    self._set_deadline()  # disarms it
                if self._stop_reason:
                    dispatcher.abandon_retries(self._stop_reason)
                # the tuner hears the last results; after a stop, a tuner that blocks in its
                # thread cannot hold the experiment for longer than STOP_GRACE
                with anyio.move_on_after(STOP_GRACE if self._stop_reason else math.inf):
                    await dispatcher.drain()
                tg.cancel_scope.cancel()
            if self._error:
                status = "ERROR"
            elif self._stop_reason and self._stop_reason != DEADLINE:
                status = "STOPPED"
        except BaseException as err:
            status, self._error = "ERROR", self._error or f"{type(err).__name__}: {err}"
            raise
        finally:
            with anyio.CancelScope(shield=True):
                dispatcher.close()
                store.set_experiment_status(status, self._error or self._stop_reason, ended=True)
                store.close()
                control.close()  # last: `asyncnni stop` returns once the store is closed
                logging.getLogger("asyncnni").removeHandler(handler)
                handler.close()
        return ExperimentResult(
            self.id,
            self.folder,
            status,
            self._error or self._stop_reason,
            self.progress,
            self.observer.best,
        )

    async def _open(self, store: Store, driver: TunerDriver) -> Ledger:
        """Create the experiment's record, or take over a stored one (resume); the ledger
        continues its ids and counts, and runs again the parameter sets of the trial jobs
        that were running when the previous run died."""
        config = self.config
        limits = {
            "multi_phase": config.multi_phase,
            "async_mode": config.async_dispatcher,
            "max_trial_jobs": config.max_trial_number,
            "max_configurations": config.max_configuration_number,
            "max_retries": config.max_trial_retries,
            "retry_on_failure": config.retry_on_failure,
        }
        if not self._resuming:
            store.create_experiment(
                ExperimentRecord(
                    self.id,
                    config.experiment_name,
                    config_to_record(config),
                    config.search_space,
                    optimize_mode=self.observer.optimize_mode,
                )
            )
            store.commit()
            return Ledger(**limits)
        previous = PreviousRun.read(store)
        imported = imports.stored(self.folder)  # `asyncnni experiment import`
        await _setting_up(driver, "import_data", driver.import_data(previous.results + imported))
        interrupted = store.interrupted()
        store.reopen()
        store.commit()
        started = len(previous.trial_job_ids)
        self.observer.resumed(previous.counts, started, previous.best(self.observer.optimize_mode))
        retries = [_requeued(job, stored) for job, stored in interrupted if stored is not None]
        # a job that died before it got parameters is as if it had never started
        never_asked = len(interrupted) - len(retries)
        log.info(
            "resumed with %d trial jobs and %d results; %d interrupted parameter set(s) run again",
            started,
            len(previous.results),
            len(retries),
        )
        return Ledger(
            **limits,
            next_parameter_id=previous.next_parameter_id,
            jobs_started=started - never_asked,
            configurations=previous.counted_configurations - never_asked,
            known_job_ids=previous.trial_job_ids,
            retries=retries,
        )

    def _listen_on(self, service: TrainingService) -> tuple[str, Any, str | None]:
        """Where the dispatcher binds, its CURVE server keys (tcp) and trials' ASYNCNNI_AUTH.
        A service whose trials run elsewhere needs tcp; one on this machine gets ipc unless
        ``dispatcher.bind`` says otherwise."""
        setting = self.config.dispatcher
        bind = setting.bind
        if bind is None:
            bind = (
                transport.ipc_address(self.folder)
                if service.address_kind == "ipc"
                else service.default_bind()
            )
        if not bind.startswith("tcp://") or setting.insecure:
            return bind, None, None
        server, client = auth.experiment_keys(self.folder)
        return bind, server, auth.env_value(client)

    async def _launch_trials(
        self, tg: Any, dispatcher: Dispatcher, service: TrainingService
    ) -> None:
        """Keep ``trial_concurrency`` trial jobs running until a stop rule says enough. The
        limits may change while it runs (``set_trial_concurrency``, ``set_max_trial_number``):
        every wake reads them again, and a raised limit starts jobs again as long as any
        still runs."""
        ledger = dispatcher.ledger
        while not self._stop_reason:
            self._wake = anyio.Event()
            if ledger.can_start_job():
                concurrency = min(self.config.trial_concurrency, service.capacity or math.inf)
                if self.progress.running < concurrency:
                    self._start_job(tg, dispatcher, service)
                    continue
            elif not self.progress.running:
                break
            await self._wake.wait()
        await self._wait_for_running_trials()

    async def _wait_for_running_trials(self) -> None:
        while self.progress.running:
            self._wake = anyio.Event()
            await self._wake.wait()

    def _start_job(self, tg: Any, dispatcher: Dispatcher, service: TrainingService) -> None:
        ledger = dispatcher.ledger
        retry = ledger.next_retry()
        sequence = ledger.next_sequence
        trial_job_id = new_id(6)
        while ledger.is_known_job(trial_job_id):
            trial_job_id = new_id(6)
        trial_dir = self.folder / "trials" / trial_job_id
        env = {
            **self._trial_env,
            "ASYNCNNI_DISPATCHER": self.address or "",
            "ASYNCNNI_EXPERIMENT_ID": self.id,
            "ASYNCNNI_TRIAL_JOB_ID": trial_job_id,
            "ASYNCNNI_TRIAL_DIR": str(trial_dir),
            "ASYNCNNI_TRIAL_SEQUENCE_ID": str(sequence),
        }
        if self._auth is not None:
            env["ASYNCNNI_AUTH"] = self._auth
        if self.config.shared_storage is not None:
            env["ASYNCNNI_SHARED_DIR"] = str(self.config.shared_storage.local_mount_point)
        dispatcher.register_job(trial_job_id, sequence, str(trial_dir), retry)
        tg.start_soon(
            self._run_job, dispatcher, service, TrialJob(trial_job_id, sequence, trial_dir, env)
        )

    async def _run_job(
        self, dispatcher: Dispatcher, service: TrainingService, job: TrialJob
    ) -> None:
        try:
            outcome = await service.run(job)
        except anyio.get_cancelled_exc_class():
            dispatcher.job_ended(
                job.trial_job_id, TrialEvent.USER_CANCELED, None, "experiment stopped"
            )
            raise
        dispatcher.job_ended(
            job.trial_job_id, outcome.event, outcome.exit_code, outcome.message, lost=outcome.lost
        )
        if outcome.event not in (TrialEvent.SUCCEEDED, TrialEvent.USER_CANCELED):
            log.warning("trial %s %s: %s", job.trial_job_id, outcome.event, outcome.message)
        if self.on_trial_end is not None:
            self.on_trial_end(TrialSummary(job.trial_job_id, job.sequence, outcome))
        self._poke()

    def _poke(self) -> None:
        """Wake the launcher: a trial ended, a limit was reached, or a stop was asked."""
        if self._wake is not None:
            self._wake.set()

    def _fail(self, message: str) -> None:
        self._error = self._error or message
        self.stop(message)

    async def _handle_signals(self) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                name = signal.Signals(signum).name
                if self._stop_reason is None:
                    log.warning("%s: stopping the experiment (again to stop at once)", name)
                    self.stop(f"interrupted by {name}")
                else:  # at once: trials are terminated, the tuner is not waited for
                    log.warning("%s again: stopping at once", name)
                    assert self._scope is not None
                    self._scope.cancel()

    def _assessor(self) -> AssessorDriver | None:
        if self.config.assessor is None:
            return None
        from . import assessors  # only experiments with an assessor pay for importing them

        return AssessorDriver(build_plugin(self.config.assessor, assessors.registry, "assessor"))

    def _log_to_file(self) -> logging.Handler:
        handler = logging.FileHandler(self.folder / "experiment.log")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger("asyncnni")
        root.addHandler(handler)
        root.setLevel(getattr(logging, self.config.log_level.upper(), logging.INFO))
        return handler
