"""Starting, synchronising and collecting the benchmark client processes.

Each client is ``python -m asyncnni.bench.client`` (see there for its stdio protocol). A
:class:`ClientGroup` starts them, waits until every one is connected and warmed up, starts
them all at once, and gathers their results. Leaving its ``async with`` block, by success,
error, cancellation or Ctrl-C, kills whatever still runs and reaps it, so no client outlives
the benchmark.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
import numpy as np
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream

STARTUP_TIMEOUT_S = 120.0  # 64 interpreters starting on 2 busy cores take a while
RUN_TIMEOUT_S = 600.0
MAX_LINE = 4096
EXIT_GRACE_S = 10.0


class BenchmarkError(RuntimeError):
    """A client failed or the benchmark could not run as asked."""


@dataclass(frozen=True)
class ClientResult:
    start_ns: int
    end_ns: int
    count: int
    latencies_ns: np.ndarray


@dataclass(frozen=True)
class GroupResult:
    """What a group of clients measured together."""

    messages: int
    seconds: float  # from the first client's start to the last one's end
    latencies_ns: np.ndarray

    @property
    def messages_per_s(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else float("nan")


def collect(results: list[ClientResult]) -> GroupResult:
    start = min(r.start_ns for r in results)
    end = max(r.end_ns for r in results)
    latencies = np.concatenate([r.latencies_ns for r in results]) if results else np.empty(0)
    return GroupResult(sum(r.count for r in results), (end - start) / 1e9, latencies)


class ClientGroup:
    """``async with ClientGroup(specs, folder) as group`` starts one process per spec.

    Each spec holds ``address``, ``identities``, ``pattern`` and (unless idle) ``count`` and
    ``window``; the group adds ``latency_file`` under ``folder``.
    """

    def __init__(self, specs: list[dict[str, Any]], folder: Path) -> None:
        self.specs = [
            {**spec, "latency_file": str(folder / f"latencies-{spec['identities'][0]}.bin")}
            for spec in specs
        ]
        self._procs: list[Process] = []
        self._stdout: list[BufferedByteReceiveStream] = []

    async def __aenter__(self) -> ClientGroup:
        try:
            for spec in self.specs:
                proc = await anyio.open_process(
                    [sys.executable, "-m", "asyncnni.bench.client", json.dumps(spec)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=None,  # a client's error shows on the benchmark's stderr
                )
                self._procs.append(proc)
                assert proc.stdout is not None
                self._stdout.append(BufferedByteReceiveStream(proc.stdout))
            with anyio.fail_after(STARTUP_TIMEOUT_S):
                for i in range(len(self._procs)):
                    line = await self._line(i)
                    if line != "ready":
                        raise BenchmarkError(f"client {i} said {line!r} instead of 'ready'")
        except BaseException:
            await self._end_all(graceful=False)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._end_all(graceful=exc_type is None)

    async def _line(self, i: int) -> str:
        try:
            raw = await self._stdout[i].receive_until(b"\n", MAX_LINE)
        except (anyio.EndOfStream, anyio.IncompleteRead):
            code = await self._procs[i].wait()
            raise BenchmarkError(f"benchmark client {i} exited with code {code}") from None
        return raw.decode().strip()

    async def _tell_all(self, line: bytes) -> None:
        for proc in self._procs:
            assert proc.stdin is not None
            await proc.stdin.send(line)

    async def run(self) -> GroupResult:
        """Start every client at once and gather what they measured."""
        await self._tell_all(b"go\n")
        results = []
        with anyio.fail_after(RUN_TIMEOUT_S):
            for i, spec in enumerate(self.specs):
                outcome = json.loads(await self._line(i))
                latencies = np.fromfile(spec["latency_file"], dtype=np.int64)
                results.append(ClientResult(**outcome, latencies_ns=latencies))
        return collect(results)

    async def stop(self) -> None:
        """Let idle clients close their sockets and exit."""
        await self._tell_all(b"stop\n")
        with anyio.fail_after(STARTUP_TIMEOUT_S):
            for i, proc in enumerate(self._procs):
                if await proc.wait() != 0:
                    raise BenchmarkError(f"idle client {i} exited with code {proc.returncode}")

    async def _end_all(self, *, graceful: bool) -> None:
        """Reap every client; kill those still running. After a good run they are exiting on
        their own: give them a moment, since killing one that just exited races with
        asyncio's reaper (its "Unknown child process" warning)."""
        with anyio.CancelScope(shield=True):
            with anyio.move_on_after(EXIT_GRACE_S if graceful else 0):
                for proc in self._procs:
                    await proc.wait()
            for proc in self._procs:
                if proc.returncode is None:
                    proc.kill()
                await proc.wait()
                await proc.aclose()
            self._procs.clear()
