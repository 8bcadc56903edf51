"""Tuner scheduling: in which order, and in which tasks, the tuner is called.

Serial mode: every tuner command (a NEW_TRIAL, a final result, a trial's end) goes through
one ordered stream, so the tuner sees one call at a time, in arrival order. Asynchronous
mode: each NEW_TRIAL runs in a task of its own and may wait (on a parent's result); results
and ends go through a stream of their own, in order, so a waiting request never holds them
up. Either way a stop cancels the requests the tuner still works on, also a plain-``def``
tuner's call that blocks its thread (the thread is abandoned, not waited for).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Coroutine
from typing import Any

import anyio
from anyio.abc import TaskGroup

from .._loop import Command, CommandQueue, RequestTasks

# (trial job, parameter id) of the request the tuner is working on: who waits on whom
asking: contextvars.ContextVar[tuple[str, int] | None] = contextvars.ContextVar(
    "asking", default=None
)


class TunerScheduler:
    def __init__(
        self, *, async_mode: bool, on_flush: Callable[[], None], on_error: Callable
    ) -> None:
        self.async_mode = async_mode
        self._on_flush = on_flush  # one commit for each batch of commands
        self._commands = CommandQueue()
        self._feedback = CommandQueue() if async_mode else self._commands
        self._requests = RequestTasks(on_error)
        self._serial_scope: anyio.CancelScope | None = None  # the serial request in progress
        self.cancelled = False  # cancel_all was called: requests are answered at once

    def start(self, tg: TaskGroup) -> None:
        tg.start_soon(self._run, self._commands)
        if self.async_mode:
            tg.start_soon(self._run, self._feedback)

    async def _run(self, queue: CommandQueue) -> None:
        while True:
            for command in await queue.take_all():
                await command()
            self._on_flush()

    def request(self, coroutine: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """A NEW_TRIAL for the tuner: its own task (asynchronous mode) or the ordered stream."""
        if self.async_mode:
            self._requests.spawn(coroutine())
        else:
            self._commands.put(lambda: self._serial(coroutine))

    async def _serial(self, coroutine: Callable[[], Coroutine[Any, Any, None]]) -> None:
        with anyio.CancelScope() as scope:
            self._serial_scope = scope
            if self.cancelled:
                scope.cancel()
            try:
                await coroutine()
            finally:
                self._serial_scope = None

    def feedback(self, command: Command) -> None:
        """A result, an assessment or a trial's end, in order after what came before."""
        self._feedback.put(command)

    async def drain(self) -> None:
        """Return once every feedback command put so far has run."""
        drained = anyio.Event()

        async def mark() -> None:
            drained.set()

        self._feedback.put(mark)
        await drained.wait()

    def cancel_all(self) -> None:
        """The experiment stops: requests in progress are cancelled (each answers
        NO_MORE_TRIALS), and later ones are answered without asking the tuner."""
        self.cancelled = True
        self._requests.cancel_all()
        if self._serial_scope is not None:
            self._serial_scope.cancel()

    @property
    def closing(self) -> bool:
        return self._requests.closing

    async def close(self) -> None:
        await self._requests.close()
