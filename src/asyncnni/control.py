"""The control channel of a running experiment: how `asyncnni stop`, `status`, `kill`,
`update` and `experiment import` reach the process that runs it.

One ZeroMQ REP socket per running experiment, an ipc socket file in the experiment's folder
(``control/control.sock``; a folder 0700, the file 0600: only the owner can connect). Each
request is one msgpack map ``{"v": 1, "kind": ..., ...}`` and gets one answer ``{"v": 1,
"ok": true, ...}`` or ``{"v": 1, "ok": false, "error": "..."}``; docs/architecture.md lists
the kinds. The experiment answers from its event loop, so every request acts at once and
never races the dispatcher.

The socket file exists from the moment the run was announced until its store is closed.
A file that refuses connections is stale: the process died without removing it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import math
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgpack
import zmq
import zmq.asyncio

from . import transport
from .errors import AsyncNNIError, ConfigError

if TYPE_CHECKING:
    from .experiment import Experiment

VERSION = 1
CONTROL_DIR = "control"
SOCKET_NAME = "control.sock"
_BIND_ATTEMPTS = 3  # a bind whose shared temp folder vanished under it (see ControlServer.open)
UPDATABLE = ("trial_concurrency", "max_trial_number", "max_experiment_duration")


class NotRunning(AsyncNNIError):
    """Nothing answers on the experiment's control channel."""


class ControlError(AsyncNNIError):
    """The experiment refused a request (the message says why)."""


def socket_path(folder: Path) -> Path:
    """Where the control socket of the experiment in ``folder`` lives: in the folder, or,
    when that path is too long for a Unix socket name, under a per-user 0700 folder in the
    temp folder, named by a digest of the experiment folder (both sides compute it)."""
    folder = folder.resolve()
    path = folder / CONTROL_DIR / SOCKET_NAME
    if len(str(path)) <= transport.IPC_PATH_LIMIT:
        return path
    digest = hashlib.sha256(str(folder).encode()).hexdigest()[:24]
    return Path(tempfile.gettempdir()) / f"asyncnni-{os.getuid()}" / f"{digest}.sock"


def _private_folder(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_uid != os.getuid():
        raise ConfigError(
            f"{folder} belongs to another user; the control channel cannot live there"
        )
    os.chmod(folder, 0o700)


def _accepts(path: Path, experiment_id: str) -> bool:
    """Whether a process listens on ``path`` (a plain connect; ZeroMQ shrugs it off)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except (FileNotFoundError, ConnectionRefusedError):
        return False
    except PermissionError:
        raise ControlError(f"experiment {experiment_id} belongs to another user") from None
    finally:
        probe.close()
    return True


def is_running(folder: Path) -> bool:
    """Whether the experiment in ``folder`` runs (its control channel accepts)."""
    return _accepts(socket_path(folder), folder.name)


def not_running(experiment_id: str, folder: Path) -> NotRunning:
    """The error for an experiment that does not answer; says so when its process died."""
    if socket_path(folder).exists():
        return NotRunning(
            f"experiment {experiment_id} is not running (its process is gone without closing "
            f"it; `asyncnni resume {experiment_id}` goes on with it)"
        )
    return NotRunning(f"experiment {experiment_id} is not running")


def request(folder: Path, kind: str, **fields: Any) -> dict[str, Any]:
    """Send one request to the experiment in ``folder`` and return its answer. Raises
    NotRunning when nothing answers, ControlError when the experiment refused."""
    experiment_id = folder.name
    path = socket_path(folder)
    if not _accepts(path, experiment_id):
        raise not_running(experiment_id, folder)
    ctx = zmq.Context()
    sock = transport.connect_control(ctx, path)
    try:
        sock.send(msgpack.packb({"v": VERSION, "kind": kind, **fields}))
        answer = msgpack.unpackb(sock.recv())
    except zmq.Again:
        raise NotRunning(
            f"experiment {experiment_id} does not answer on its control channel "
            f"(in {transport.CONTROL_TIMEOUT_MS // 1000} s)"
        ) from None
    finally:
        sock.close(linger=0)
        ctx.term()
    if not answer.get("ok"):
        raise ControlError(str(answer.get("error")))
    return answer


def wait_until_closed(folder: Path, timeout: float) -> bool:
    """Wait until the experiment in ``folder`` has closed its channel (after its store);
    False when it is still open after ``timeout`` seconds."""
    path = socket_path(folder)
    deadline = time.monotonic() + timeout
    while _accepts(path, folder.name):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)  # the experiment's process closes its socket: nothing to wait on
    return True


class ControlServer:
    """The experiment's end of the channel; ``open`` binds, ``serve`` answers until
    cancelled, ``close`` removes the socket file."""

    def __init__(self, experiment: Experiment) -> None:
        self.experiment = experiment
        self.path = socket_path(experiment.folder)
        self._ctx: zmq.asyncio.Context | None = None
        self._sock: zmq.asyncio.Socket | None = None

    def open(self) -> None:
        if _accepts(self.path, self.experiment.id):
            raise ConfigError(f"experiment {self.experiment.id} is running already")
        _private_folder(self.path.parent)
        self.path.unlink(missing_ok=True)  # left by a process that died
        self._ctx = zmq.asyncio.Context()
        # the shared temp folder goes with the last experiment that leaves it: one leaving
        # now may take it away between the mkdir and the bind; then it is made again
        for attempt in range(_BIND_ATTEMPTS):
            try:
                self._sock = transport.bind_control(self._ctx, self.path)
                return
            except zmq.ZMQError as err:
                if err.errno != errno.ENOENT or attempt == _BIND_ATTEMPTS - 1:
                    raise
                _private_folder(self.path.parent)

    async def serve(self) -> None:
        assert self._sock is not None
        while True:
            frame = await self._sock.recv()
            try:
                answer = {"ok": True, **self.answer(msgpack.unpackb(frame))}
            except (ControlError, ValueError, TypeError, KeyError) as err:
                answer = {"ok": False, "error": str(err)}
            await self._sock.send(msgpack.packb({"v": VERSION, **answer}))

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close(linger=0)
            self._ctx.term()  # type: ignore[union-attr]
            self._sock = None
        self.path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.path.parent.rmdir()

    # --- requests ---------------------------------------------------------------------

    def answer(self, message: Any) -> dict[str, Any]:
        if not isinstance(message, dict) or message.get("v") != VERSION:
            raise ControlError(f"not a version {VERSION} control request")
        kind = message.get("kind")
        experiment = self.experiment
        if kind == "STATUS":
            return status_of(experiment)
        if kind == "STOP":
            experiment.stop("stopped by `asyncnni stop`")
            return {"pid": os.getpid()}
        if kind == "KILL_TRIAL":
            trial_job_id = str(message["trial_job_id"])
            if trial_job_id not in experiment.running_trials():
                raise ControlError(f"trial job {trial_job_id!r} is not running in {experiment.id}")
            experiment.kill_trial(trial_job_id)
            return {}
        if kind == "UPDATE":
            field, value = message["field"], message["value"]
            if field not in UPDATABLE:
                raise ControlError(f"cannot update {field!r}; updatable: {', '.join(UPDATABLE)}")
            getattr(experiment, f"set_{field}")(value)
            return {}
        if kind == "IMPORT_DATA":
            experiment.import_data(list(message["data"]))
            return {"imported": len(message["data"])}
        raise ControlError(f"unknown control request {kind!r}")


def status_of(experiment: Experiment) -> dict[str, Any]:
    """What STATUS answers: the observer's view of the run."""
    progress = experiment.progress
    best = experiment.observer.best
    latest = experiment.observer.latest
    config = experiment.config
    duration = config.max_experiment_duration
    return {
        "id": experiment.id,
        "pid": os.getpid(),
        "status": "STOPPING" if experiment.stopping else "RUNNING",
        "progress": {
            "started": progress.started,
            "running": progress.running,
            "succeeded": progress.succeeded,
            "failed": progress.failed,
            "early_stopped": progress.early_stopped,
            "canceled": progress.canceled,
            "waiting": len(progress.waiting_on),
        },
        "best": None
        if best is None
        else {
            "trial_job_id": best.trial_job_id,
            "parameter_id": best.parameter_id,
            "value": best.value,
            "parameters": best.parameters,
        },
        "running": [
            {"trial_job_id": job, "latest": latest.get(job)} for job in experiment.running_trials()
        ],
        "limits": {
            "trial_concurrency": config.trial_concurrency,
            "max_trial_number": config.max_trial_number,
            "max_experiment_duration": None
            if duration is None or math.isinf(duration)
            else duration,
        },
    }
