"""Tuner scheduling: in which order, and in which tasks, the tuner is called.

Serial mode: every tuner command (a NEW_TRIAL, a final result, a trial's end) goes through
one ordered stream, so the tuner sees one call at a time, in arrival order. Asynchronous
mode: each NEW_TRIAL runs in a task of its own and may wait (on a parent's result); results
and ends go through a stream of their own, in order, so a waiting request never holds them
up. Either way a stop cancels the requests the tuner still works on, also a plain-``def``
tuner's call that blocks its thread (the thread is abandoned, not waited for).

Commands run inline, in the socket's burst that brought them (:meth:`TunerScheduler.run`),
each started eagerly as its own task (``_loop.start_eagerly``): a call that completes
without waiting (an ``async def`` built-in tuner's answer) costs no task switch, and the
burst's PARAMETERS go out before its commit. This is safe for every tuner, since each
call runs as a real task from its first line: a plain-``def`` method's first step is to
hand the call to a worker thread, and an ``async def`` method that awaits something goes on
in its task while the burst ends (the commands after it wait, in order).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Coroutine
from typing import Any

import anyio

from .._loop import Command, CommandStream, RequestTasks

# (trial job, parameter id) of the request the tuner is working on: who waits on whom
asking: contextvars.ContextVar[tuple[str, int] | None] = contextvars.ContextVar(
    "asking", default=None
)

Request = Callable[[], Coroutine[Any, Any, None]]


class TunerScheduler:
    """Queues tuner commands and runs them: in the burst that brought them (the dispatcher
    calls :meth:`run` after routing it, while :attr:`holding`), or soon after they were put
    from elsewhere (a trial's end, an import, a drain). ``on_done`` commits and sends what
    commands that had to wait produced."""

    def __init__(
        self, *, async_mode: bool, on_done: Callable[[], None], on_error: Callable
    ) -> None:
        self.async_mode = async_mode
        self._on_done = on_done
        # serial mode: every command; asynchronous mode: results, assessments and ends
        self._stream = CommandStream(on_error, on_done)
        self._requests = RequestTasks(on_error, on_done)
        self._new_requests: list[Request] = []  # asynchronous mode: started by run()
        self._run_scheduled = False
        self.holding = False  # a burst is being routed: it runs its commands at its end
        self.cancelled = False  # cancel_all was called: requests are answered at once
        self.closing = False

    def request(self, coroutine: Request) -> None:
        """A NEW_TRIAL for the tuner: its own task (asynchronous mode) or the ordered stream."""
        if self.async_mode:
            self._new_requests.append(coroutine)
        else:
            self._stream.put(coroutine, cancellable=True)
        self._soon()

    def feedback(self, command: Command) -> None:
        """A result, an assessment or a trial's end, in order after what came before."""
        self._stream.put(command)
        self._soon()

    @property
    def ready(self) -> bool:
        """Whether :meth:`run` has something to start now."""
        return bool(self._new_requests) or self._stream.ready

    def run(self) -> None:
        """Start what was put: results and ends first, then asynchronous mode's requests
        (a job's result reaches the tuner before its next request does). Call from a
        callback, not from a task."""
        self._stream.run()
        if self._new_requests:
            requests, self._new_requests = self._new_requests, []
            for request in requests:
                if self.closing:
                    break
                self._requests.spawn(request())

    def _soon(self) -> None:
        if not self.holding and not self._run_scheduled:
            self._run_scheduled = True
            asyncio.get_running_loop().call_soon(self._scheduled_run)

    def _scheduled_run(self) -> None:
        self._run_scheduled = False
        if self.ready and not self.closing:
            self.run()
            self._on_done()

    async def drain(self) -> None:
        """Return once every feedback command put so far has run."""
        drained = anyio.Event()

        async def mark() -> None:
            drained.set()

        self.feedback(mark)
        await drained.wait()

    def cancel_all(self) -> None:
        """The experiment stops: requests in progress are cancelled (each answers
        NO_MORE_TRIALS), and later ones are answered without asking the tuner."""
        self.cancelled = True
        self._requests.cancel_all()
        self._stream.cancel_running()

    async def close(self) -> None:
        """Cancel what still runs and wait for it; what waits to run is dropped."""
        self.closing = True
        self._new_requests = []
        await self._stream.close()
        await self._requests.close()
