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

The template's objects are never written by a child when they need not be: every page a
child writes is copied (torch and ``torch._dynamo`` are ~200 MB of them). So they are frozen
out of the garbage collector's view before each fork (a child's collections traverse its
own objects only), and a child ends as ``python script.py`` would for everything the trial
made (its threads joined, its ``atexit`` functions run, the objects of its script and of
the modules it imported freed, its output flushed, its exit status), but does not tear down
the template's modules: that walk alone was a third of a quickstart trial's CPU.
"""

from __future__ import annotations

import atexit
import builtins
import gc
import importlib
import importlib.machinery
import importlib.util
import json
import os
import selectors
import signal
import sys
import threading
import types
import weakref
from typing import TextIO


class Job:
    """What a child runs once it has become the trial job."""

    def __init__(self, request: dict) -> None:
        self.argv: list[str] = request["argv"]
        self.module: bool = request["module"]
        self.template_modules = set(sys.modules)  # what the end leaves alone
        self.main: types.ModuleType | None = None


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
    # the template's finalisers are the template's: a child runs only its own at exit (a
    # temporary folder a preloaded module made is the template's, and torch's undoing of its
    # operator registrations cost 30-70 ms a child; weakref keeps no public list of them)
    for finalizer in list(weakref.finalize._registry):  # type: ignore[attr-defined]
        finalizer.atexit = False
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
                    gc.freeze()  # whatever serving made since the last fork, too
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


class _CannotStart(Exception):
    """What the interpreter says, and exits with, when it finds nothing to run."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _main_module(job: Job) -> tuple[types.ModuleType, types.CodeType]:
    """The trial's ``__main__`` and its code, as the interpreter makes them for
    ``python script.py`` (a folder or zip file runs its ``__main__.py``) and
    ``python -m module`` (a package runs its ``__main__`` submodule)."""
    main = types.ModuleType("__main__")
    main.__builtins__ = builtins  # type: ignore[attr-defined]
    main.__annotations__ = {}
    name = job.argv[0]
    if job.module:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations is not None:
            spec = importlib.util.find_spec(f"{name}.__main__")
        if spec is None or spec.loader is None:
            raise _CannotStart(f"No module named {name}", 1)
        sys.argv[0] = spec.origin or name
        main.__package__ = spec.parent
    elif os.path.isfile(name):
        path = os.path.abspath(name)
        with open(path, "rb") as source:
            code = compile(source.read(), path, "exec")
        main.__file__, main.__cached__ = path, None  # type: ignore[attr-defined]
        main.__loader__ = importlib.machinery.SourceFileLoader("__main__", path)  # type: ignore[assignment]
        return main, code
    elif not os.path.exists(name):
        path = os.path.abspath(name)
        raise _CannotStart(f"can't open file {path!r}: [Errno 2] No such file or directory", 2)
    else:
        sys.path[0] = name
        spec = importlib.machinery.PathFinder.find_spec("__main__", [name])
        if spec is None or spec.loader is None:
            raise _CannotStart(f"can't find '__main__' module in {name!r}", 1)
    main.__spec__, main.__loader__, main.__file__ = spec, spec.loader, spec.origin
    main.__cached__ = spec.cached  # type: ignore[attr-defined]
    return main, spec.loader.get_code(spec.name)  # type: ignore[attr-defined]


def _run(job: Job) -> int:
    """Run the trial in its own ``__main__`` as the interpreter would; its exit status (a
    traceback on stderr when it raised, as the interpreter prints it), or minus a signal's
    number when it is to end by that signal."""
    try:
        job.main, code = _main_module(job)
        sys.modules["__main__"] = job.main
        exec(code, vars(job.main))
    except SystemExit as exit:
        return _exit_status(exit.code)
    except _CannotStart as err:
        print(f"{sys.executable}: {err}", file=sys.stderr)
        return err.status
    except BaseException as err:
        # the trial's frames, not this one: as `python script.py` prints them
        traceback = err.__traceback__
        err = err.with_traceback(traceback.tb_next if traceback else None)
        sys.excepthook(type(err), err, err.__traceback__)
        # the interpreter ends itself by SIGINT after an uncaught Ctrl-C, so its parent sees it
        return -signal.SIGINT if isinstance(err, KeyboardInterrupt) else 1
    return 0


def _exit_status(code: object) -> int:
    """The status ``sys.exit(code)`` gives: None is 0, an int itself, anything else is
    printed to stderr and is 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _clear(modules: list[types.ModuleType | None]) -> None:
    """Set every name of these namespaces to None, in order, as the interpreter's
    finalisation does (``__builtins__`` stays, for the finalisers that still run)."""
    for module in modules:
        namespace = getattr(module, "__dict__", None) or {}
        for key in [key for key in namespace if key != "__builtins__"]:
            namespace[key] = None


def _end(job: Job, status: int) -> None:
    """End the child as the interpreter's finalisation would, for what the trial made:
    wait for its non-daemon threads, run its ``atexit`` functions, clear the namespaces of
    the modules it imported, newest first, and of its ``__main__``, so their objects are
    freed in order and their finalisers run (a file left open is flushed), collect its
    cycles, flush the output; then exit without walking the template's modules."""
    # what the interpreter calls first: threading's own exit hooks (a ThreadPoolExecutor's
    # workers are told to end there), then it joins every non-daemon thread
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    atexit._clear()  # as the interpreter does: what they held is freed with the rest
    ours = [module for name, module in sys.modules.items() if name not in job.template_modules]
    _clear([*reversed(ours), job.main])
    del ours
    gc.collect()  # the trial's own cycles: the template's objects are frozen
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        status = 120  # what the interpreter exits with when it cannot flush stdout
    if status < 0:
        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
    os._exit(status & 0xFF)


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
        _end(job, _run(job))


if __name__ == "__main__":
    main()
