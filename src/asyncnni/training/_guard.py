"""Runs a trial command as the leader of its process group, and ends the group when the
Ray worker that started it dies (its node lost, the worker killed): nothing else would,
since the group lives in a session of its own.

Usage: ``python _guard.py WORKER_PID GRACE COMMAND...``. The exit status is the command's,
a death by signal included. A SIGTERM to the group (a kill) ends the command; the guard
waits for it to go, so that status is reported too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

LOOK_EVERY = 0.5  # seconds between looks at the worker


def _end_group(grace: float) -> None:
    os.killpg(0, signal.SIGTERM)
    # the group's other processes are not the guard's children: nothing tells it when they
    # are gone, so they get the grace period before the SIGKILL, as the local service gives
    time.sleep(grace)
    os.killpg(0, signal.SIGKILL)  # the guard too


def main() -> None:
    worker, grace, command = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
    # the group's SIGTERM is for the command (a handler, not SIG_IGN: that would be inherited)
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    child = subprocess.Popen(command)
    while True:
        try:
            code = child.wait(timeout=LOOK_EVERY)
            break
        except subprocess.TimeoutExpired:
            if os.getppid() != worker:
                _end_group(grace)
    if code < 0:  # report a death by signal as one
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


if __name__ == "__main__":
    main()
