"""The body of a trial job on Ray: a task that runs on whichever node Ray chose.

It imports only the standard library and Ray. The trial command runs under ``_guard.py``
in a process group of its own, in the trial code folder, with the job's environment on top
of the worker's (so ``CUDA_VISIBLE_DEVICES`` is the one Ray assigned). The task waits in
short slices: a soft ``ray.cancel`` interrupts Python between bytecodes but never a
blocking ``wait()``. On a cancel it ends the whole group (SIGTERM, grace, SIGKILL). The
trial's output goes, as it comes, to a log sink actor on the experiment's machine, which
appends it to ``<trial dir>/trial.log``; the last of it is delivered before the task ends,
a cancelled one included.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SLICE = 0.1  # seconds between looks at the trial (and chances for a cancel to land)
SHIP_EVERY = 1.0  # seconds between deliveries of new output
CHUNK = 1 << 20
GUARD = str(Path(__file__).with_name("_guard.py"))


class LogSink:
    """An actor on the experiment's machine that appends trials' output to their logs."""

    def __init__(self, logs: dict[str, str]) -> None:
        self._logs = logs  # trial job id -> trial.log path
        self._nodes: dict[str, str] = {}

    def open(self, trial_job_id: str, path: str) -> None:
        self._logs[trial_job_id] = path
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).touch()

    def started(self, trial_job_id: str, node_id: str, pid: int) -> None:
        self._nodes[trial_job_id] = node_id

    def append(self, trial_job_id: str, data: bytes) -> None:
        if data:
            with open(self._logs[trial_job_id], "ab") as log_file:
                log_file.write(data)

    def node_of(self, trial_job_id: str) -> str | None:
        return self._nodes.pop(trial_job_id, None)


def run_trial(
    trial_job_id: str, command: str, code_dir: str | None, env: dict, sink, grace: float
) -> int:
    """Run ``command``; its exit status (negative: the signal that ended it)."""
    import ray

    node_id = ray.get_runtime_context().get_node_id()
    # with runtime_env working_dir, Ray starts the worker in the unpacked copy of the code
    cwd = code_dir if code_dir and os.path.isdir(code_dir) else os.getcwd()
    full_env = {
        **os.environ,
        **env,
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]),
        "PYTHONUNBUFFERED": "1",
        "ASYNCNNI_RAY_NODE_ID": node_id,
    }
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(
            [sys.executable, GUARD, str(os.getpid()), str(grace), "/bin/sh", "-c", command],
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        sink.started.remote(trial_job_id, node_id, process.pid)
        shipped, next_ship = 0, time.monotonic() + SHIP_EVERY
        try:
            while True:
                try:
                    return process.wait(timeout=SLICE)
                except subprocess.TimeoutExpired:
                    if time.monotonic() >= next_ship:
                        shipped = _ship(out, shipped, sink, trial_job_id)
                        next_ship = time.monotonic() + SHIP_EVERY
        finally:
            if process.returncode is None:
                _end_group(process, grace)
            ray.get(_ship_all(out, shipped, sink, trial_job_id))


def _ship(out, shipped: int, sink, trial_job_id: str) -> int:
    data = os.pread(out.fileno(), CHUNK, shipped)
    if data:
        sink.append.remote(trial_job_id, data)  # calls of one caller run in order
    return shipped + len(data)


def _ship_all(out, shipped: int, sink, trial_job_id: str):
    while True:
        data = os.pread(out.fileno(), CHUNK, shipped)
        shipped += len(data)
        if len(data) < CHUNK:
            return sink.append.remote(trial_job_id, data)
        sink.append.remote(trial_job_id, data)


def _end_group(process: subprocess.Popen, grace: float) -> None:
    """SIGTERM to the trial's process group, SIGKILL once the grace time has passed."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                process.wait(timeout=SLICE)
                break
            except subprocess.TimeoutExpired:
                pass
        if process.returncode is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # what the trial left behind
            return
