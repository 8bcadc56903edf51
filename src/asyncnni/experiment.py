"""An experiment: config + store + dispatcher + training service + stop rules, in one task group."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import os
import secrets
import signal
import string
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from . import transport, tuners
from .config import (
    ExperimentConfig,
    PluginConfig,
    config_from_dict,
    config_from_record,
    config_to_record,
    default_working_directory,
    load_config,
)
from .dispatcher import Dispatcher
from .errors import AsyncNNIError, ConfigError, PluginError
from .plugins import Registry, construct, load_class
from .store import DB_NAME, Store, open_readonly
from .training.base import USER_CANCELED, TrialExit, TrialJob
from .training.local import GpuPool, LocalTrainingService
from .tuner import OptimizeMode, TunerDriver, scalar_metric

log = logging.getLogger("asyncnni.experiment")

DEADLINE = "max_experiment_duration reached"
_ID_ALPHABET = string.ascii_lowercase + string.digits


def new_id(length: int) -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


@dataclass
class Progress:
    """Counters the CLI shows while an experiment runs."""

    started: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    early_stopped: int = 0
    canceled: int = 0
    best: float | None = None
    waiting_on: dict[str, int] = dataclasses.field(
        default_factory=dict
    )  # job -> parent parameter id


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


def build_plugin(spec: PluginConfig, registry: Registry, what: str) -> Any:
    """A tuner or assessor from its config: built-in by name, or the user's class."""
    if spec.name is not None:
        return registry.create(spec.name, **spec.class_args)
    assert spec.class_name is not None
    cls = load_class(
        spec.class_name, code_directory=spec.code_directory, class_file_name=spec.class_file_name
    )
    return construct(cls, dict(spec.class_args), f"{what} {spec.class_name}")


@dataclass(frozen=True)
class PreviousRun:
    """What a resumed experiment takes over from its store."""

    trial_job_ids: set[str]
    next_parameter_id: int
    counted_configurations: int
    results: list[dict]  # [{"parameter": ..., "value": ..., "parameter_id": ...}] for import_data
    counts: dict[str, int]


class Experiment:
    """Runs one experiment to its end: ``Experiment.from_yaml(path).run()`` or ``await exp.arun()``.

    The experiment ends at ``max_trial_number``, ``max_experiment_duration``, when the tuner
    has no more trials and nothing runs, on :meth:`stop`, or on SIGINT/SIGTERM (trials are
    terminated, the store is closed; nothing stored is lost). A failing trial never stops it;
    a failing tuner does (status ERROR, with the tuner's error as message).
    """

    def __init__(
        self, config: ExperimentConfig | dict, *, experiment_id: str | None = None
    ) -> None:
        self.config = config if isinstance(config, ExperimentConfig) else config_from_dict(config)
        if self.config.training_service.platform != "local":
            raise ConfigError(
                f"training_service.platform {self.config.training_service.platform!r} is not supported yet; use local"
            )
        if self.config.tuner is None:
            raise ConfigError("no tuner configured (advisors are not supported yet)")
        self.id = experiment_id or new_id(8)
        self.folder = Path(self.config.experiment_working_directory).expanduser() / self.id
        self.progress = Progress()
        self.on_trial_end: Callable[[TrialSummary], None] | None = None
        self._stop_reason: str | None = None
        self._error: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: anyio.Event | None = None
        self._service: LocalTrainingService | None = None
        self.dispatcher: Dispatcher | None = None
        self._resuming = False
        self._existing_job_ids: set[str] = set()

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
            store = open_readonly(folder)
        except LookupError:
            raise LookupError(f"no experiment {experiment_id!r} in {folder.parent}") from None
        try:
            record = store.experiment()["config"]
        finally:
            store.close()
        record["experiment_working_directory"] = str(folder.parent)
        config = dataclasses.replace(config_from_record(record), **changes)
        experiment = cls(config, experiment_id=experiment_id)
        experiment._resuming = True
        return experiment

    def _take_over(self, store: Store) -> PreviousRun:
        previous = PreviousRun(
            trial_job_ids=store.trial_job_ids(),
            next_parameter_id=store.next_parameter_id(),
            counted_configurations=store.counted_configurations(),
            results=store.final_results(),
            counts=store.counts(),
        )
        store.reopen()
        self._existing_job_ids = previous.trial_job_ids
        progress = self.progress
        progress.started = len(previous.trial_job_ids)
        progress.succeeded = previous.counts.get("SUCCEEDED", 0)
        progress.early_stopped = previous.counts.get("EARLY_STOPPED", 0)
        progress.canceled = previous.counts.get("USER_CANCELED", 0)
        progress.failed = (
            progress.started - progress.succeeded - progress.early_stopped - progress.canceled
        )
        log.info(
            "resumed with %d trial jobs and %d results", progress.started, len(previous.results)
        )
        return previous

    @staticmethod
    def _best_of(previous: PreviousRun, optimize_mode: str) -> float | None:
        values = [scalar_metric(result["value"]) for result in previous.results]
        if not values:
            return None
        return (
            min(values)
            if OptimizeMode.parse(optimize_mode) is OptimizeMode.MINIMIZE
            else max(values)
        )

    def run(self) -> ExperimentResult:
        """Run to the end in a fresh event loop; see :meth:`arun`."""
        return anyio.run(self.arun)

    def stop(self, reason: str = "stopped by the user") -> None:
        """Ask the experiment to end: no new trials, requests the tuner still works on are
        answered NO_MORE_TRIALS, running trials are terminated. Safe from any thread."""
        loop = self._loop
        if loop is not None and _running_loop() is not loop:
            loop.call_soon_threadsafe(self._stop_now, reason)
        else:
            self._stop_now(reason)

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
        tuner = build_plugin(config.tuner, tuners.registry, "tuner")
        assessor = self._assessor()
        gpus = self._gpu_pool()
        shared_dir = config.shared_storage.local_mount_point if config.shared_storage else None
        if shared_dir is not None:
            shared_dir.mkdir(parents=True, exist_ok=True)

        if not self._resuming and (self.folder / DB_NAME).exists():
            raise ConfigError(
                f"experiment {self.id} exists in {self.folder}; `asyncnni resume {self.id}` goes on with it"
            )
        # a search space the tuner refuses is a config error: say so before anything exists
        driver = TunerDriver(tuner, shared_dir=shared_dir)
        await _setting_up(
            driver, "update_search_space", driver.update_search_space(config.search_space)
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        handler = self._log_to_file()
        store = Store(self.folder)
        previous = self._take_over(store) if self._resuming else None
        if previous is None:
            store.create_experiment(
                self.id, config.experiment_name, config_to_record(config), config.search_space
            )
        else:
            await _setting_up(driver, "import_data", driver.import_data(previous.results))
        service = LocalTrainingService(
            config.trial_command,
            config.trial_code_directory,
            bin_dir=self.folder / "bin",
            max_trial_duration=config.max_trial_duration,
            gpus=gpus,
        )
        self._service = service
        optimize_mode = (config.tuner.class_args or {}).get("optimize_mode", "maximize")
        self.dispatcher = dispatcher = Dispatcher(
            tuner,
            store,
            address=transport.ipc_address(self.folder),
            multi_phase=config.multi_phase,
            async_mode=config.async_dispatcher,
            max_parameters=config.max_trial_number if config.multi_phase else None,
            assessor=assessor,
            on_kill=service.kill,
            on_fatal=self._fail,
            on_exhausted=self._poke,
            optimize_mode=optimize_mode,
            shared_dir=shared_dir,
            first_parameter_id=previous.next_parameter_id if previous else 0,
            issued=previous.counted_configurations if previous else 0,
            best=self._best_of(previous, optimize_mode) if previous else None,
        )
        # the dispatcher's own dict: the display sees a job wait as soon as it starts waiting
        self.progress.waiting_on = dispatcher.waiting_on
        status = "DONE"
        try:
            async with anyio.create_task_group() as tg:
                await tg.start(dispatcher.serve)
                if threading.current_thread() is threading.main_thread():
                    tg.start_soon(self._handle_signals)
                with anyio.move_on_after(config.max_experiment_duration or math.inf) as deadline:
                    await self._launch_trials(tg, dispatcher, service)
                if deadline.cancelled_caught:
                    self.stop(DEADLINE)
                    await self._wait_for_running_trials()
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
                store.set_experiment_status(status, self._error or self._stop_reason, ended=True)
                store.close()
                logging.getLogger("asyncnni").removeHandler(handler)
                handler.close()
            self.progress.best = dispatcher.best
        return ExperimentResult(
            self.id, self.folder, status, self._error or self._stop_reason, self.progress
        )

    async def _launch_trials(
        self, tg: Any, dispatcher: Dispatcher, service: LocalTrainingService
    ) -> None:
        """Keep ``trial_concurrency`` trial jobs running until a stop rule says enough."""
        config = self.config
        while True:
            self._wake = anyio.Event()
            if self._should_stop_launching(dispatcher):
                break
            if self.progress.running < config.trial_concurrency:
                self._start_job(tg, dispatcher, service)
                continue
            await self._wake.wait()
        await self._wait_for_running_trials()

    def _should_stop_launching(self, dispatcher: Dispatcher) -> bool:
        limit = self.config.max_trial_number
        # max_trial_number counts trial jobs; in multi-phase mode the dispatcher counts configurations
        over_limit = (
            limit is not None and not self.config.multi_phase and self.progress.started >= limit
        )
        return bool(self._stop_reason or dispatcher.exhausted or over_limit)

    async def _wait_for_running_trials(self) -> None:
        while self.progress.running:
            self._wake = anyio.Event()
            await self._wake.wait()

    def _start_job(self, tg: Any, dispatcher: Dispatcher, service: LocalTrainingService) -> None:
        sequence = self.progress.started
        trial_job_id = new_id(6)
        while trial_job_id in dispatcher.jobs or trial_job_id in self._existing_job_ids:
            trial_job_id = new_id(6)
        trial_dir = self.folder / "trials" / trial_job_id
        env = {
            "ASYNCNNI_DISPATCHER": dispatcher.address or "",
            "ASYNCNNI_EXPERIMENT_ID": self.id,
            "ASYNCNNI_TRIAL_JOB_ID": trial_job_id,
            "ASYNCNNI_TRIAL_DIR": str(trial_dir),
            "ASYNCNNI_TRIAL_SEQUENCE_ID": str(sequence),
            "ASYNCNNI_EXPERIMENT_PID": str(os.getpid()),  # trials stop waiting once it is gone
        }
        if self.config.shared_storage is not None:
            env["ASYNCNNI_SHARED_DIR"] = str(self.config.shared_storage.local_mount_point)
        dispatcher.register_job(trial_job_id, sequence, str(trial_dir))
        self.progress.started += 1
        self.progress.running += 1
        tg.start_soon(
            self._run_job, dispatcher, service, TrialJob(trial_job_id, sequence, trial_dir, env)
        )

    async def _run_job(
        self, dispatcher: Dispatcher, service: LocalTrainingService, job: TrialJob
    ) -> None:
        try:
            outcome = await service.run(job)
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                dispatcher.store.end_trial_job(
                    job.trial_job_id, USER_CANCELED, None, "experiment stopped"
                )
                dispatcher.store.commit()
            raise
        dispatcher.job_ended(job.trial_job_id, outcome.event, outcome.exit_code, outcome.message)
        self._count(outcome)
        if outcome.event not in ("SUCCEEDED", USER_CANCELED):
            log.warning("trial %s %s: %s", job.trial_job_id, outcome.event, outcome.message)
        if self.on_trial_end is not None:
            self.on_trial_end(TrialSummary(job.trial_job_id, job.sequence, outcome))
        self._poke()

    def _count(self, outcome: TrialExit) -> None:
        progress = self.progress
        progress.running -= 1
        attribute = {"SUCCEEDED": "succeeded", "FAILED": "failed", "EARLY_STOPPED": "early_stopped"}
        name = attribute.get(outcome.event, "canceled")
        setattr(progress, name, getattr(progress, name) + 1)
        if self.dispatcher is not None:
            progress.best = self.dispatcher.best

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
                if self._stop_reason is None:
                    log.warning(
                        "%s: stopping the experiment (again to stop at once)",
                        signal.Signals(signum).name,
                    )
                    self.stop(f"interrupted by {signal.Signals(signum).name}")
                else:
                    raise KeyboardInterrupt

    def _assessor(self) -> Any:
        if self.config.assessor is None:
            return None
        from . import assessors  # only experiments with an assessor pay for importing them
        from .assessor import AssessorDriver

        return AssessorDriver(build_plugin(self.config.assessor, assessors.registry, "assessor"))

    def _gpu_pool(self) -> GpuPool | None:
        config = self.config
        if config.trial_gpu_number <= 0:
            return None
        indices = config.training_service.gpu_indices
        if indices is None:
            visible = os.environ.get("CUDA_VISIBLE_DEVICES", "")
            indices = [int(i) for i in visible.split(",") if i.strip().isdigit()]
        if not indices:
            raise ConfigError(
                "trial_gpu_number > 0 needs training_service.gpu_indices (or CUDA_VISIBLE_DEVICES)"
            )
        try:
            return GpuPool(
                indices, config.training_service.max_trial_number_per_gpu, config.trial_gpu_number
            )
        except ValueError as err:
            raise ConfigError(str(err)) from None

    def _log_to_file(self) -> logging.Handler:
        handler = logging.FileHandler(self.folder / "experiment.log")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger("asyncnni")
        root.addHandler(handler)
        root.setLevel(getattr(logging, self.config.log_level.upper(), logging.INFO))
        return handler
