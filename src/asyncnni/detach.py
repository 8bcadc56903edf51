"""Running an experiment in the background (``asyncnni run --detach``, ``asyncnni create``):
``asyncnni run`` again, as a process of its own session (no terminal, so no Ctrl-C or
hang-up reaches it), its output appended to the experiment's ``experiment.log``.

The caller returns once the run can be reached (its control channel answers, and its
dashboard serves when one was asked for), or with the run's own error when it ended first."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .control import is_running
from .errors import AsyncNNIError

START_TIMEOUT = 120.0  # seconds a detached run may take to come up (the tuner's set-up)
LOG_NAME = "experiment.log"
DASHBOARD_FILE = "dashboard.json"  # written by the dashboard once it serves (asyncnni.web)


class DetachError(AsyncNNIError):
    """The detached run ended before it could be reached; the message holds its output."""


@dataclass(frozen=True)
class Detached:
    experiment_id: str
    folder: Path
    pid: int
    dashboard: str | None  # the dashboard's URL


def start(
    config: Path, experiment_id: str, folder: Path, *, port: int | None, host: str
) -> Detached:
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / LOG_NAME
    command = [
        sys.executable,
        "-m",
        "asyncnni",
        "run",
        str(config.resolve()),
        "--id",
        experiment_id,
    ]
    command.append("--quiet")
    if port is not None:
        command += ["--port", str(port), "--host", host]
    start_of_output = log.stat().st_size if log.exists() else 0
    with log.open("ab") as out:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT
    url = None
    while not (is_running(folder) and (port is None or (url := _dashboard_url(folder)))):
        if child.poll() is not None:
            output = log.read_bytes()[start_of_output:].decode(errors="replace").strip()
            raise DetachError(output or f"the experiment ended with exit code {child.returncode}")
        if time.monotonic() > deadline:
            raise DetachError(
                f"experiment {experiment_id} did not come up in {START_TIMEOUT:.0f} s; see {log}"
            )
        time.sleep(0.05)
    return Detached(experiment_id, folder, child.pid, url)


def _dashboard_url(folder: Path) -> str | None:
    try:
        return json.loads((folder / DASHBOARD_FILE).read_text())["url"]
    except (FileNotFoundError, ValueError, KeyError):  # not yet, or being written
        return None
