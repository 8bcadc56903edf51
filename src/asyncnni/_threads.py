"""Worker threads for plain-``def`` plug-in calls that never keep the process alive.

anyio's worker threads are not daemons: a tuner method blocked in one (an NNI-style tuner
waiting on an event) would hold the interpreter at exit for ever, however the experiment
stopped. Here a cancelled call returns at once and its thread is abandoned; the thread is a
daemon, so the process can exit while it still blocks. Idle threads are reused.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any, TypeVar

T = TypeVar("T")

_Job = tuple[Callable[[], Any], asyncio.AbstractEventLoop, asyncio.Future]
_jobs: SimpleQueue[_Job] = SimpleQueue()
_idle = 0  # threads waiting for a job that no caller has reserved yet
_lock = threading.Lock()


def _settle(future: asyncio.Future, result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller was cancelled and has gone
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


def _work() -> None:
    global _idle
    while True:
        fn, loop, future = _jobs.get()
        try:
            result, error = fn(), None
        except BaseException as err:  # handed to the caller, whatever it is
            result, error = None, err
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(_settle, future, result, error)
        with _lock:
            _idle += 1


async def run_in_thread(fn: Callable[[], T]) -> T:
    """``fn()`` in a daemon worker thread; cancelling the caller abandons the thread."""
    global _idle
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    with _lock:  # reserve an idle thread, or start one: every job gets a thread of its own
        start = _idle == 0
        if not start:
            _idle -= 1
    if start:
        threading.Thread(target=_work, name="asyncnni plug-in", daemon=True).start()
    _jobs.put((fn, loop, future))
    return await future
