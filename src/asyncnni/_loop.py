"""Event-loop building blocks of the dispatcher, each cheaper than its anyio counterpart on
the hot path (measured: an anyio Event ~10 us, TaskGroup.start_soon ~30 us a task)."""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import anyio

Command = Callable[[], Awaitable[None]]


class Flag:
    """A one-shot event whose anyio.Event is made only when somebody waits: most parameter
    sets are never waited on, and making an Event costs more than the rest of a request."""

    __slots__ = ("_set", "_event")

    def __init__(self) -> None:
        self._set = False
        self._event: anyio.Event | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        if self._event is not None:
            self._event.set()

    async def wait(self) -> None:
        if not self._set:
            if self._event is None:
                self._event = anyio.Event()
            await self._event.wait()


if sys.version_info >= (3, 12):

    def start_eagerly(coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task | None:
        """Run ``coroutine`` at once, up to its first suspension, as the asyncio task that
        goes on with it afterwards (an eager task). None when it finished without suspending
        (an exception it raised is raised here), else its task."""
        task = asyncio.Task(coroutine, loop=asyncio.get_running_loop(), eager_start=True)
        if not task.done():
            return task
        task.result()
        return None

else:  # Python 3.11 has no eager tasks: the first step runs here, as the task's own
    from asyncio.tasks import _current_tasks, _enter_task, _leave_task, _unregister_task

    def start_eagerly(coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task | None:
        """Run ``coroutine`` at once, up to its first suspension, as the asyncio task that
        goes on with it afterwards (Python 3.12's eager task). None when it finished without
        suspending (an exception it raised is raised here), else its task."""
        loop = asyncio.get_running_loop()
        first = _FirstStepDone(coroutine)
        context = contextvars.copy_context()  # the task's, as any task gets its own
        ready = getattr(loop, "_ready", None)  # asyncio's loops: the callbacks of the next turn
        queued = len(ready) if ready is not None else 0
        # as 3.12's eager start: a Task of its own, not the loop's factory
        task = asyncio.Task(first, loop=loop, context=context)
        if _current_tasks.get(loop) is not None:  # inside a task: an ordinary start
            return task
        _enter_task(loop, task)  # anything that asks for the current task gets this one
        try:
            context.run(first.step)
        finally:
            _leave_task(loop, task)
        if not first.finished:
            return task
        if ready is not None and len(ready) > queued:
            _take_back_first_step(task, ready, queued)
        if first.error is not None:
            raise first.error
        return None

    def _take_back_first_step(task: asyncio.Task, ready: Any, queued: int) -> None:
        """The coroutine ended in its first step: the step the task queued when it was made
        would only take that end, in a loop turn of its own (after a lone request, the only
        thing that turn does). Take it back, as a 3.12 eager task never queues one; the task
        is then never done: it leaves the loop's set of tasks (so nothing waits for it) and
        is dropped silently. Left alone where the step is not recognised."""
        step = ready[queued]
        if getattr(step._callback, "__self__", None) is not task:
            return
        step.cancel()
        if ready[-1] is step:  # nothing queued behind it: no turn at all
            ready.pop()
        _unregister_task(task)  # nobody waits for, or cancels, a task that is never done
        task._log_destroy_pending = False  # type: ignore[attr-defined]

    class _FirstStepDone(Coroutine):
        """What a task runs when the first step of its coroutine ran before the task's
        first step: that step's outcome first (the future it waits on, or its end), then the
        coroutine itself."""

        __slots__ = ("_coroutine", "_pending", "_waits_on", "finished", "error")

        def __init__(self, coroutine: Coroutine[Any, Any, Any]) -> None:
            self._coroutine = coroutine
            self._pending = True  # the task has not taken the first step's outcome yet
            self._waits_on: Any = None
            self.finished = False
            self.error: BaseException | None = None

        def step(self) -> None:
            try:
                self._waits_on = self._coroutine.send(None)
            except StopIteration:
                self.finished = True
            except BaseException as err:  # raised by start_eagerly, not by the task
                self.finished, self.error = True, err

        def send(self, value: Any) -> Any:
            if self._pending:
                self._pending = False
                if self.finished:
                    raise StopIteration
                return self._waits_on
            return self._coroutine.send(value)

        def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
            if self._pending:  # cancelled before its first step
                self._pending = False
                if self.finished:
                    raise StopIteration
                if isinstance(self._waits_on, asyncio.Future):  # as Task.cancel does
                    self._waits_on.cancel()
            if val is None and tb is None:
                return self._coroutine.throw(typ)
            return self._coroutine.throw(typ, val, tb)

        def close(self) -> None:
            self._coroutine.close()

        def __await__(self) -> Any:
            raise TypeError("only a task runs this")

        def __repr__(self) -> str:
            return f"<eagerly started {self._coroutine!r}>"


class CommandStream:
    """Commands run one at a time, in the order they were put, by :meth:`run`.

    ``run`` starts one task eagerly (:func:`start_eagerly`) that runs the commands put so far
    one after another, where ``run`` is called: in the socket's burst. Commands that need
    nothing to wait for (a built-in tuner's answer) are all done before the burst's answers
    go out, with one task for the lot and no task switch. When one must wait (a plain-``def``
    tuner's worker thread, an await), the task goes on with it, and with the commands put
    meanwhile, after each calling ``on_done`` (to commit and send what it produced)."""

    def __init__(
        self, on_error: Callable[[BaseException], None], on_done: Callable[[], None]
    ) -> None:
        self._commands: deque[tuple[Command, bool]] = deque()
        self._running = False  # the stream's task runs (in its first step, or after)
        self._task: asyncio.Task | None = None  # that task, once it had to wait
        self._cancellable = False  # the command in progress may be cancelled
        self._cancel_asked = False  # it was, in the first step: cancel where it waits
        self._cancel_sent = False  # it was cancelled: the task takes the cancel back after it
        self._on_error = on_error
        self._on_done = on_done
        self.closing = False

    def put(self, command: Command, cancellable: bool = False) -> None:
        self._commands.append((command, cancellable))

    @property
    def ready(self) -> bool:
        """Whether :meth:`run` has something to start now."""
        return not self._running and bool(self._commands) and not self.closing

    def run(self) -> None:
        """Run the commands put so far, until one waits (call from a callback)."""
        if not self.ready:
            return
        self._running = True
        task = start_eagerly(self._drain())  # it handles what its commands raise
        if task is None:
            return
        self._task = task
        task.add_done_callback(self._waited)
        if self._cancel_asked:
            self._cancel_asked, self._cancel_sent = False, True
            task.cancel()

    async def _drain(self) -> None:
        commands = self._commands
        try:
            while commands and not self.closing:
                command, self._cancellable = commands.popleft()
                try:
                    await command()
                except asyncio.CancelledError:
                    if self.closing or not self._cancel_sent:
                        raise
                except Exception as err:
                    self._on_error(err)
                finally:
                    self._cancellable = self._cancel_asked = False
                    if self._cancel_sent:  # the cancel was this command's, not the stream's
                        self._cancel_sent = False
                        asyncio.current_task().uncancel()  # type: ignore[union-attr]
                if self._task is not None:
                    self._on_done()
        finally:
            self._running = False
            if self._task is asyncio.current_task():
                self._task = None

    def _waited(self, task: asyncio.Task) -> None:
        if self._task is task:  # cancelled before it started
            self._task, self._running = None, False
        if task.cancelled() or task.exception() is not None:  # it ended inside a command
            if not task.cancelled():
                self._on_error(task.exception())  # type: ignore[arg-type]
            if not self.closing:
                self._on_done()
                self.run()

    def cancel_running(self) -> None:
        """Cancel the command in progress, if it was put as cancellable (one in its first
        step is cancelled where it first waits)."""
        if not self._cancellable or self._cancel_sent:
            return
        if self._task is None:
            self._cancel_asked = True
        else:
            self._cancel_sent = True
            self._task.cancel()

    async def close(self) -> None:
        """Drop what waits, cancel what runs and wait for it (call shielded)."""
        self.closing = True
        self._commands.clear()
        task = self._task
        if task is not None:
            task.cancel()
            await asyncio.wait([task])


class RequestTasks:
    """The asynchronous mode's one-task-per-request, as a minimal task group of plain asyncio
    tasks: none outlives :meth:`close`, :meth:`cancel_all` reaches each, and an error that
    escapes one goes to ``on_error`` (the dispatcher then fails as with any task's error).
    ``on_done`` runs when a request that had to wait has ended (to commit and send)."""

    def __init__(
        self, on_error: Callable[[BaseException], None], on_done: Callable[[], None]
    ) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._on_error = on_error
        self._on_done = on_done
        self._starting = False  # a request in its first step
        self._cancel_started = False  # it was cancelled there
        self.closing = False

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Start ``coroutine`` eagerly (see :func:`start_eagerly`); only one that waits
        becomes a task to keep."""
        self._starting, self._cancel_started = True, False
        try:
            task = start_eagerly(coroutine)
        except Exception as err:
            self._on_error(err)
            return
        finally:
            self._starting = False
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._done)
            if self._cancel_started:
                task.cancel()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._on_error(task.exception())  # type: ignore[arg-type]
        if not self.closing:
            self._on_done()

    def cancel_all(self) -> None:
        """Cancel every request (one in its first step where it first waits)."""
        self._cancel_started = self._starting
        for task in list(self._tasks):
            task.cancel()

    async def close(self) -> None:
        """Cancel what still runs and wait for it (call shielded from cancellation)."""
        self.closing = True
        self.cancel_all()
        if self._tasks:
            await asyncio.wait(list(self._tasks))
