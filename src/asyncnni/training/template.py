"""The template process of the fork launcher (see :mod:`asyncnni.training.launcher`).

``python -m asyncnni.training.template MODULE...`` imports the trial API and the named
modules once, says whether forking it is safe, then forks one child per trial job it is
asked for. A child becomes the job: its own session and process group, its working
directory, environment, argv and ``sys.path[0]``, its output in its trial.log, and then it
runs the trial script as ``python script.py`` would (``__main__``, tracebacks, exit codes).
The template reaps its children and reports how each ended.

Control lines are JSON, one per line: requests on stdin, answers on stdout (the template's
own output goes to stderr). It imports nothing that starts a thread: fork copies only the
thread that calls it, so a lock held by another thread would stay locked in every child.
"""

from __future__ import annotations

import importlib
import json
import os
import selectors
import sys
import threading
from typing import TextIO


class Job:
    """What a child runs once it has become the trial job."""

    def __init__(self, request: dict) -> None:
        self.argv: list[str] = request["argv"]
        self.module: bool = request["module"]


def _unsafe_reason() -> str | None:
    """Why forking this process is not safe (or None): a Python thread runs besides this
    one, or CUDA is initialised. (Native pools of BLAS libraries, such as the one OpenBLAS
    starts when numpy loads, stop and restart around a fork through their own handlers.)"""
    if not hasattr(os, "pidfd_open"):
        return "this system has no pidfd_open (Linux >= 5.3 is needed)"
    if threading.active_count() > 1:
        names = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
        return f"the preloaded modules started threads: {', '.join(names)}"
    torch = sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None)
    if cuda is not None and cuda.is_initialized():
        return "a preloaded module initialised CUDA"
    return None


def _preload(modules: list[str]) -> str | None:
    import asyncnni  # noqa: F401 - the trial API and what its client needs
    import asyncnni.auth  # noqa: F401
    import asyncnni.transport  # noqa: F401

    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as err:  # the template refuses; trials start plain and fail there
            return f"preloading {name!r} failed: {type(err).__name__}: {err}"
    return _unsafe_reason()


def _become(request: dict) -> Job:
    """In the child: become the trial job ``request`` describes."""
    os.setsid()  # its own session and process group: a kill reaches its whole tree
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    job = Job(request)
    if job.module:
        sys.path[0] = os.getcwd()
    else:
        sys.path[0] = os.path.dirname(os.path.abspath(job.argv[0]))
    sys.argv = list(job.argv)
    numpy_random = getattr(sys.modules.get("numpy"), "random", None)
    if numpy_random is not None:  # numpy's global generator is not reseeded by fork
        numpy_random.seed()
    return job


def serve(control_in: int, out: TextIO) -> Job | None:
    """Fork a child per request until the control input closes; returns the Job in each
    child, None in the template once it is told to stop."""

    def say(**message: object) -> None:
        out.write(json.dumps(message) + "\n")

    selector = selectors.DefaultSelector()
    selector.register(control_in, selectors.EVENT_READ, None)
    children: dict[int, tuple[int, str]] = {}  # pidfd -> (pid, job id)
    pending = b""
    while True:
        for key, _ in selector.select():
            if key.data is None:
                chunk = os.read(control_in, 1 << 16)
                if not chunk:
                    return None
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    request = json.loads(line)
                    sys.stdout.flush()
                    sys.stderr.flush()
                    pid = os.fork()
                    if pid == 0:  # the child: nothing of the template's control stays open
                        out.close()
                        selector.close()
                        for fd in (control_in, *children):
                            os.close(fd)
                        return _become(request)
                    pidfd = os.pidfd_open(pid)
                    children[pidfd] = (pid, request["job"])
                    selector.register(pidfd, selectors.EVENT_READ, pidfd)
                    say(job=request["job"], pid=pid)
            else:
                pidfd = key.data
                pid, job = children.pop(pidfd)
                selector.unregister(pidfd)
                os.close(pidfd)
                _, status = os.waitpid(pid, 0)
                say(job=job, exit=os.waitstatus_to_exitcode(status))


def _run(job: Job) -> None:
    """Run the trial as ``python script.py`` / ``python -m module`` would."""
    import runpy

    if job.module:
        runpy.run_module(job.argv[0], run_name="__main__", alter_sys=True)
    else:
        runpy.run_path(job.argv[0], run_name="__main__")


def main() -> None:
    control_in, control_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(2, 1)  # stray prints of preloaded modules must not reach the control stream
    os.close(null)
    sys.path.insert(0, os.getcwd())  # the trial code directory: its own modules preload too
    unsafe = _preload(sys.argv[1:])
    out = os.fdopen(control_out, "w", buffering=1)
    out.write(json.dumps({"ready": unsafe is None, "unsafe": unsafe}) + "\n")
    job = serve(control_in, out) if unsafe is None else None
    if job is not None:
        _run(job)  # an exception ends it as it ends `python script.py`: traceback, exit 1


if __name__ == "__main__":
    main()
