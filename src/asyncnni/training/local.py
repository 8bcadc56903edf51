"""``platform: local``: trial jobs as process groups on this machine, GPUs handed out here."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import anyio
from anyio.abc import Process

from ..errors import ConfigError
from .base import (
    EARLY_STOPPED,
    FAILED,
    SUCCEEDED,
    USER_CANCELED,
    TrainingService,
    TrialEvent,
    TrialExit,
    TrialJob,
)
from .launcher import ForkedProcess, ForkLauncher, fork_command, warn_plain

if TYPE_CHECKING:
    from ..config import ExperimentConfig

log = logging.getLogger("asyncnni.training")

TERMINATE_GRACE = 5.0  # seconds between SIGTERM and SIGKILL
LOG_TAIL_BYTES = 2048


class GpuPool:
    """Hands out GPU indices, each to at most ``per_gpu`` trials at once."""

    def __init__(self, indices: list[int], per_gpu: int, per_trial: int) -> None:
        if per_trial > len(indices) * per_gpu:
            raise ValueError(
                f"trial_gpu_number {per_trial} is more than gpu_indices {indices} can hold"
            )
        self._free = {index: per_gpu for index in indices}
        self._per_trial = per_trial
        self._changed = anyio.Condition()

    async def acquire(self) -> list[int]:
        async with self._changed:
            while True:
                # least-loaded first, so trials spread over the GPUs
                ready = sorted(
                    (i for i, n in self._free.items() if n > 0), key=lambda i: -self._free[i]
                )
                if len(ready) >= self._per_trial:
                    chosen = ready[: self._per_trial]
                    for index in chosen:
                        self._free[index] -= 1
                    return chosen
                await self._changed.wait()

    async def release(self, indices: list[int]) -> None:
        async with self._changed:
            for index in indices:
                self._free[index] += 1
            self._changed.notify_all()


class LocalTrainingService(TrainingService):
    """Runs each trial job as ``/bin/sh -c trial_command`` in its own process group.

    ``python`` in the command is the interpreter that runs asyncnni: its folder (a venv's
    bin) goes first on the trial's PATH.
    """

    def __init__(
        self,
        command: str,
        code_directory: Path,
        *,
        bin_dir: Path,
        max_trial_duration: float | None = None,
        gpus: GpuPool | None = None,
        preload: list[str] | None = None,
        launcher_log: Path | None = None,
    ) -> None:
        """``preload`` (a list, maybe empty) asks for the fork launcher, whose template
        writes to ``launcher_log``; None starts every job plain."""
        self.command = command
        self.code_directory = code_directory
        self.max_trial_duration = max_trial_duration
        self.gpus = gpus
        self._scopes: dict[str, anyio.CancelScope] = {}
        self._kill_reasons: dict[str, tuple[str, str]] = {}
        self._path = os.pathsep.join([str(python_folder(bin_dir)), os.environ.get("PATH", "")])
        self.launcher = self._launcher(preload, launcher_log or bin_dir.parent / "launcher.log")
        self._warned_plain = False

    platform = "local"

    @classmethod
    def from_config(cls, config: ExperimentConfig, folder: Path) -> LocalTrainingService:
        launcher = config.training_service.trial_launcher
        fork = launcher is not None and launcher.mode == "fork"
        if fork:
            _check_preload(launcher.preload, config.trial_code_directory)  # type: ignore[union-attr]
        return cls(
            config.trial_command,
            config.trial_code_directory,
            bin_dir=folder / "bin",
            max_trial_duration=config.max_trial_duration,
            gpus=gpu_pool(config),
            preload=list(launcher.preload) if fork else None,  # type: ignore[union-attr]
            launcher_log=folder / "launcher.log",
        )

    def _launcher(self, preload: list[str] | None, log_path: Path) -> ForkLauncher | None:
        if preload is None:
            return None
        command = fork_command(self.command)
        if isinstance(command, str):
            warn_plain(self.command, command)
            return None
        if not sys.platform.startswith("linux"):
            warn_plain(self.command, "forking a template is supported on Linux only")
            return None
        env = {**os.environ, "PATH": self._path, "PYTHONUNBUFFERED": "1"}
        return ForkLauncher(command, preload, self.code_directory, env, log_path)

    @contextlib.asynccontextmanager
    async def preparing(self) -> AsyncIterator[None]:
        """The fork launcher's template starts here, so that it imports while the
        experiment sets itself up; it ends here if the run was refused before it began."""
        if self.launcher is None:
            yield
            return
        try:
            await self.launcher.spawn()
            yield
        finally:
            await self.launcher.close()

    async def __aenter__(self) -> LocalTrainingService:
        if self.launcher is not None:
            await self.launcher.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.launcher is not None:
            await self.launcher.__aexit__(*exc)

    def kill(self, trial_job_id: str, reason: str, event: TrialEvent = EARLY_STOPPED) -> None:
        """Stop a running trial job; it ends as ``event`` with ``reason``."""
        scope = self._scopes.get(trial_job_id)
        if scope is not None:
            self._kill_reasons.setdefault(trial_job_id, (event, reason))
            scope.cancel()

    def kill_all(self, reason: str) -> None:
        for trial_job_id in list(self._scopes):
            self.kill(trial_job_id, reason, USER_CANCELED)

    async def run(self, job: TrialJob) -> TrialExit:
        """Start the job, wait for it to end (or be killed), and say how it ended."""
        gpus = await self.gpus.acquire() if self.gpus else None
        try:
            return await self._run(job, gpus)
        finally:
            if gpus is not None:
                with anyio.CancelScope(shield=True):
                    await self.gpus.release(gpus)

    async def _run(self, job: TrialJob, gpus: list[int] | None) -> TrialExit:
        env = {**os.environ, **job.env, "PATH": self._path, "PYTHONUNBUFFERED": "1"}
        if gpus is not None:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, gpus))
        job.trial_dir.mkdir(parents=True, exist_ok=True)
        log_path = job.trial_dir / "trial.log"
        scope = anyio.CancelScope(
            deadline=anyio.current_time() + self.max_trial_duration
            if self.max_trial_duration
            else float("inf")
        )
        self._scopes[job.trial_job_id] = scope
        try:
            with log_path.open("wb") as log_file:
                try:
                    process = await self._start(job, env, log_file)
                except OSError as err:
                    return TrialExit(FAILED, None, f"could not start {self.command!r}: {err}")
                try:
                    with scope:
                        exit_code = await process.wait()
                finally:
                    if process.returncode is None:
                        with anyio.CancelScope(shield=True):
                            await _terminate(process)
        finally:
            del self._scopes[job.trial_job_id]
        killed = self._kill_reasons.pop(job.trial_job_id, None)
        if killed is not None:
            return TrialExit(killed[0], process.returncode, killed[1])
        if scope.cancel_called:
            return TrialExit(
                FAILED,
                process.returncode,
                f"killed after max_trial_duration ({self.max_trial_duration:g}s)",
            )
        if exit_code == 0:
            return TrialExit(SUCCEEDED, 0)
        return TrialExit(FAILED, exit_code, failure_message(exit_code, log_path))

    async def _start(
        self, job: TrialJob, env: dict[str, str], log_file: BinaryIO
    ) -> Process | ForkedProcess:
        """The job's process: forked from the launcher's template when there is one that
        can, else ``/bin/sh -c trial_command``; in its own process group either way."""
        if self.launcher is not None:
            forked = await self.launcher.start(job.trial_job_id, env, Path(log_file.name))
            if forked is not None:
                return forked
            if not self._warned_plain:
                self._warned_plain = True
                warn_plain(self.command, self.launcher.unusable or "the template is gone")
        return await anyio.open_process(
            ["/bin/sh", "-c", self.command],
            cwd=self.code_directory,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: we stop the whole tree
        )


def _check_preload(modules: list[str], code_directory: Path) -> None:
    """Refuse a preload module that is neither installed nor in the trial code directory."""
    for name in modules:
        top = name.split(".")[0]
        if importlib.util.find_spec(top) is None and not any(
            (code_directory / candidate).exists() for candidate in (f"{top}.py", top)
        ):
            raise ConfigError(
                f"training_service.trial_launcher.preload: no module named {top!r} is installed "
                f"or in {str(code_directory)!r}"
            )


def gpu_pool(config: ExperimentConfig) -> GpuPool | None:
    """The GPUs trials may use (``training_service.gpu_indices``, else CUDA_VISIBLE_DEVICES),
    or None when trials need none. Raises ConfigError when they need some and none is set."""
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


def python_folder(bin_dir: Path) -> Path:
    """The folder of ``sys.executable``, where ``python`` and ``python3`` are that interpreter;
    else ``bin_dir`` with small exec scripts of those names. (Symlinks would not do: Python
    finds its venv beside the path it was started by.)"""
    home = Path(sys.executable).parent
    names = ("python", "python3")
    if all(_same_file(home / name, Path(sys.executable)) for name in names):
        return home
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        shim.chmod(0o755)
    return bin_dir


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


async def _terminate(process: Process | ForkedProcess) -> None:
    """SIGTERM to the trial's process group, SIGKILL if it is still there after the grace time."""
    for sig, grace in ((signal.SIGTERM, TERMINATE_GRACE), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with anyio.move_on_after(grace):
            await process.wait()
        if process.returncode is not None:
            return


def failure_message(exit_code: int, log_path: Path) -> str:
    """``exit code N`` and the last line the trial printed (usually the exception)."""
    what = f"killed by signal {-exit_code}" if exit_code < 0 else f"exit code {exit_code}"
    try:
        with log_path.open("rb") as f:
            f.seek(max(0, log_path.stat().st_size - LOG_TAIL_BYTES))
            lines = [
                line for line in f.read().decode(errors="replace").splitlines() if line.strip()
            ]
    except OSError:
        lines = []
    return f"{what}: {lines[-1].strip()}" if lines else what
