"""Warm trial starts: trial jobs forked from a template process that has imported them.

``training_service: {platform: local, trial_launcher: {mode: fork, preload: [torch]}}``
starts one template process (:mod:`asyncnni.training.template`) with the interpreter,
asyncnni's trial API and the ``preload`` modules imported, and forks each trial job from
it instead of starting ``python`` again. It is started first (:meth:`ForkLauncher.spawn`,
from the local service's ``preparing()``), so it imports while the experiment sets up.
Only a ``trial_command`` of the form ``python script.py args...`` or ``python -m module
args...`` can be forked; the job gets its own environment, working directory, argv,
session and process group, and its output goes to its trial.log, so its exit code, kill
and ``max_trial_duration`` are those of a plain process (the local service stops it the
same way).

Fork copies only the thread that calls it and whatever the template initialised: it is
safe when no module started a thread or initialised CUDA at import. The template checks
both after preloading; where it is not safe (or the command cannot be forked, or the
system has no fork), trials start plain and the experiment log says why.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import anyio
from anyio.abc import Process, TaskGroup

log = logging.getLogger("asyncnni.training")

_PYTHON_NAMES = {"python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}"}
_SHELL_SYNTAX = set("|&;<>()$`*?[]{}~!#\n")


@dataclass(frozen=True)
class ForkCommand:
    """A trial_command the template can run: ``argv`` as ``sys.argv`` (the script, or the
    module name with ``module``), and what follows."""

    argv: list[str]
    module: bool


def fork_command(command: str) -> ForkCommand | str:
    """The forkable form of ``command``, or why it is not ``python script.py ...``."""
    if _SHELL_SYNTAX & set(command):
        return "it uses shell syntax"
    words = shlex.split(command)
    if not words or (words[0] not in _PYTHON_NAMES and words[0] != sys.executable):
        return "it does not start with python"
    rest = words[1:]
    while rest and rest[0] == "-u":  # unbuffered: trials always are
        rest = rest[1:]
    if rest[:1] == ["-m"] and len(rest) > 1:
        return ForkCommand(rest[1:], module=True)
    if not rest or rest[0].startswith("-"):
        return "only `python script.py ...` and `python -m module ...` can be forked"
    return ForkCommand(rest, module=False)


class ForkedProcess:
    """A trial job forked by the template: what the local service needs of a process."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._ended = anyio.Event()

    def ended(self, returncode: int) -> None:
        self.returncode = returncode
        self._ended.set()

    async def wait(self) -> int:
        await self._ended.wait()
        assert self.returncode is not None
        return self.returncode


class ForkLauncher:
    """The template process of one experiment and the jobs forked from it.

    ``async with launcher:`` starts it (in the background); :meth:`start` forks a job, or
    returns None when the template is not usable (then start the job plain)."""

    def __init__(
        self, command: ForkCommand, preload: list[str], cwd: Path, env: dict, log_path: Path
    ) -> None:
        self.command = command
        self.preload = preload
        self.cwd = cwd
        self.env = env
        self.log_path = log_path
        self._process: Process | None = None
        self._tg: TaskGroup | None = None
        self._hello = anyio.Event()
        self.unusable: str | None = None  # why jobs start plain
        self._starting: dict[str, anyio.Event] = {}
        self._forked: dict[str, ForkedProcess] = {}  # forked, not yet taken by start()
        self._running: dict[str, ForkedProcess] = {}  # forked, not yet reaped
        self._send_lock = anyio.Lock()

    async def spawn(self) -> None:
        """Start the template process, if it is not started yet: it imports while the
        experiment sets itself up. Its own output waits in a pipe until ``async with``."""
        if self._process is None:
            self._process = await anyio.open_process(
                [sys.executable, "-m", "asyncnni.training.template", *self.preload],
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # a Ctrl-C in the terminal is not meant for it
            )

    async def close(self) -> None:
        """End the template process, if one was started (again: nothing)."""
        if self._process is None:
            return
        with anyio.CancelScope(shield=True):
            await self._end_process()
            await self._process.aclose()

    async def _end_process(self) -> None:
        assert self._process is not None
        if self._process.returncode is None:
            self._process.kill()
            await self._process.wait()

    async def __aenter__(self) -> ForkLauncher:
        await self.spawn()
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self._read)
        self._tg.start_soon(self._keep_output)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._tg is not None
        with anyio.CancelScope(shield=True):
            await self._end_process()  # its pipes end: the readers finish what it wrote
        try:
            await self._tg.__aexit__(None, None, None)
        finally:
            await self.close()

    async def _keep_output(self) -> None:
        """The template's own output (a preloaded module's warnings, say) into the log."""
        assert self._process is not None and self._process.stderr is not None
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with (
            self.log_path.open("ab") as log_file,
            contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError),
        ):
            async for chunk in self._process.stderr:
                log_file.write(chunk)
                log_file.flush()

    def _gone(self, why: str) -> None:
        self.unusable = self.unusable or why
        self._hello.set()
        for event in self._starting.values():
            event.set()
        for process in self._running.values():  # nobody reaps them now: say they failed
            process.ended(-9)

    async def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        buffered = b""
        try:
            async for chunk in self._process.stdout:
                buffered += chunk
                *lines, buffered = buffered.split(b"\n")
                for line in lines:
                    self._on_line(json.loads(line))
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            pass
        self._gone(f"the template process ended (see {self.log_path})")

    def _on_line(self, message: dict) -> None:
        if "ready" in message:
            if not message["ready"]:
                self.unusable = f"the template is not safe to fork: {message['unsafe']}"
            self._hello.set()
        elif "pid" in message:  # its exit may be in the same read: it is known from here on
            process = ForkedProcess(message["pid"])
            self._forked[message["job"]] = self._running[message["job"]] = process
            self._starting.pop(message["job"]).set()
        elif "exit" in message:
            process = self._running.pop(message["job"], None)
            if process is not None:
                process.ended(message["exit"])

    async def start(
        self, trial_job_id: str, env: dict[str, str], log_path: Path
    ) -> ForkedProcess | None:
        """Fork the job, or None when the template cannot (the caller starts it plain)."""
        await self._hello.wait()
        if self.unusable is not None:
            return None
        assert self._process is not None and self._process.stdin is not None
        request = {
            "job": trial_job_id,
            "argv": self.command.argv,
            "module": self.command.module,
            "env": env,
            "cwd": str(self.cwd),
            "log": str(log_path),
        }
        started = self._starting[trial_job_id] = anyio.Event()
        try:
            async with self._send_lock:
                await self._process.stdin.send((json.dumps(request) + "\n").encode())
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            self._starting.pop(trial_job_id, None)
            return None
        await started.wait()
        return self._forked.pop(trial_job_id, None)


def template_env(env: dict[str, str]) -> dict[str, str]:
    """The template's environment: the trials' own, unbuffered as theirs."""
    return {**env, "PYTHONUNBUFFERED": "1"}


def warn_plain(command: str, why: str) -> None:
    log.warning("trial_launcher fork: trials start plain: %s (trial_command %r)", why, command)
