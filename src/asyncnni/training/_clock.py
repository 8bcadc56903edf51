"""A virtual clock for simulated trials: simulated seconds pass only when nothing else can.

Simulated trial jobs run as coroutines in the experiment's event loop and talk to the real
dispatcher over real sockets. Each job is, at any moment, *sleeping* (training for some
simulated seconds), *asking* (blocked in NEW_TRIAL: the tuner may be waiting for other
jobs) or *busy* (anything else: sending a report, waiting for its ACK, starting, ending).
The clock jumps to the earliest wake-up only when no job is busy and the event loop has
been quiet for a while, so every message of simulated time t is handled before anything
of time t' > t happens: the tuner sees events in simulated order, and a simulated hour costs
microseconds.

"Quiet" is counted in loop iterations (``settle``) while only sleeping jobs remain, so the
dispatcher, the store and the launcher finish what the last message started (a new job is
started a few iterations after one ends). While some job is asking, the loop may spin
while a reply is still inside ZeroMQ's I/O thread, so the clock also waits ``asking_quiet_s``
of real time without any progress before it moves: only a tuner that waits for other jobs
(Hyperband's ``exec_mode: serial``) pays it.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Timer:
    """A callback due at a simulated time; ``cancel()`` before then and it never runs."""

    __slots__ = ("callback", "cancelled")

    def __init__(self, callback: Callable[[], object]) -> None:
        self.callback, self.cancelled = callback, False

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock:
    """Simulated seconds since the start, shared by every simulated trial job of a service."""

    def __init__(self, settle: int = 16, asking_quiet_s: float = 0.25) -> None:
        self.now = 0.0
        self.settle, self.asking_quiet_s = settle, asking_quiet_s
        self._busy = 0
        self._asking = 0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._progress = 0  # bumped by every state change; a quiet loop does not bump it
        self._handle: asyncio.Handle | None = None
        self._delayed = False
        self._timers: list[tuple[float, int, Timer]] = []
        self.advances = 0  # how often time moved on (a figure for the benchmarks)
        self.trained = 0.0  # simulated seconds spent sleeping, summed over jobs

    def call_at(self, when: float, callback: Callable[[], object]) -> Timer:
        """Run ``callback`` once simulated time reaches ``when``, before any job wakes at
        ``when`` or later (a benchmark stops the experiment there; ``max_experiment_duration``
        and ``max_trial_duration`` are timers too)."""
        timer = Timer(callback)
        heapq.heappush(self._timers, (when, next(self._seq), timer))
        return timer

    # ----------------------------------------------------------------- what jobs do
    @contextmanager
    def job(self) -> Iterator[None]:
        """A simulated job's whole life: busy unless sleeping or asking."""
        self._change(busy=+1)
        try:
            yield
        finally:
            self._change(busy=-1)

    @contextmanager
    def asking(self) -> Iterator[None]:
        """Around a NEW_TRIAL: the tuner may wait for other jobs, so time may move on."""
        self._change(busy=-1, asking=+1)
        try:
            yield
        finally:
            self._change(busy=+1, asking=-1)

    async def sleep(self, seconds: float) -> None:
        """Train for ``seconds`` of simulated time (the caller is inside :meth:`job`)."""
        if seconds <= 0:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        start, wake = self.now, self.now + seconds
        heapq.heappush(self._sleepers, (wake, next(self._seq), future))
        self._change(busy=-1)
        try:
            await future
        finally:
            if not future.done():  # cancelled (killed, or the experiment stops): forget it
                future.cancel()
            self.trained += min(self.now, wake) - start
            self._change(busy=+1)

    # ----------------------------------------------------------------- moving time
    def _change(self, busy: int = 0, asking: int = 0) -> None:
        self._busy += busy
        self._asking += asking
        self._progress += 1
        if self._busy == 0:
            self._schedule(self.settle, time.perf_counter())

    def _schedule(self, left: int, since: float, delay: float = 0.0) -> None:
        """Run ``_settle`` at the next iteration (or after ``delay`` real seconds); a pending
        real-time poll gives way to it at once, since something just happened."""
        if self._handle is not None:
            if not self._delayed and not delay:
                return  # one is due at the next iteration: it sees the news
            self._handle.cancel()
        loop = asyncio.get_running_loop()
        self._delayed = bool(delay)
        if delay:
            self._handle = loop.call_later(delay, self._settle, self._progress, left, since)
        else:
            self._handle = loop.call_soon(self._settle, self._progress, left, since)

    def _settle(self, progress: int, left: int, since: float) -> None:
        self._handle = None
        if self._busy:
            return
        if self._progress != progress:  # something happened: start counting again
            self._schedule(self.settle, time.perf_counter())
            return
        if left > 0:
            self._schedule(left - 1, since)
        elif self._asking and time.perf_counter() - since < self.asking_quiet_s:
            # asking jobs may wait for a reply still inside ZeroMQ: poll in real time
            self._schedule(0, since, delay=self.asking_quiet_s / 4)
        else:
            self._wake_earliest()

    def _wake_earliest(self) -> None:
        while self._sleepers and self._sleepers[0][2].done():  # cancelled sleepers
            heapq.heappop(self._sleepers)
        if not self._sleepers:
            return
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        wake = self._sleepers[0][0]
        if self._timers and self._timers[0][0] <= wake:
            when, _, timer = heapq.heappop(self._timers)
            self.now = max(self.now, when)
            timer.callback()
            self._change()  # look again: the callback may have ended jobs, or not
            return
        self.now = max(self.now, wake)
        self.advances += 1
        while self._sleepers and self._sleepers[0][0] <= wake:
            future = heapq.heappop(self._sleepers)[2]
            if not future.done():
                future.set_result(None)
