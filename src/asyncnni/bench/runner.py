"""Runs the chosen scenarios over the chosen worker counts, raw baseline first, and
hands each record to a callback as soon as it is measured."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio

from . import client
from .report import machine, today
from .scenarios import SCENARIOS, measure_dispatcher, measure_idle, measure_raw


@dataclass(frozen=True)
class BenchOptions:
    workers: tuple[int, ...] = (1, 4, 16, 64)
    messages: int = 20_000  # per scenario and worker count, split between the workers
    transport: str = "ipc"
    scenarios: tuple[str, ...] = ("a", "b", "c", "d")
    raw: bool = False
    idle: int = 0  # idle workers for the idle check; 0 skips it
    window: int = 64  # outstanding reports per client in scenario a

    def __post_init__(self) -> None:
        unknown = [name for name in self.scenarios if name not in SCENARIOS]
        if unknown:
            raise ValueError(
                f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}"
            )
        if not self.workers or min(self.workers) < 1:
            raise ValueError("--workers needs one or more positive counts, e.g. 1,4,16,64")
        if self.messages < 1 or self.window < 1 or self.idle < 0:
            raise ValueError("--messages and --window must be positive, --idle not negative")
        if self.transport not in ("ipc", "tcp"):
            raise ValueError(f"--transport must be ipc or tcp, not {self.transport!r}")


def raw_patterns(scenarios: tuple[str, ...]) -> list[str]:
    """The client patterns the chosen scenarios use, plus the one-way limit."""
    patterns = dict.fromkeys(SCENARIOS[name].pattern for name in scenarios)
    return [*patterns, client.ONEWAY]


async def run_all(options: BenchOptions, report: Callable[[dict[str, Any]], None]) -> None:
    stamp = {"machine": machine(), "date": today()}
    raw_rate: dict[tuple[str, int], float] = {}
    if options.raw:
        for pattern in raw_patterns(options.scenarios):
            for workers in options.workers:
                record = await measure_raw(
                    pattern, workers, options.messages, options.transport, options.window
                )
                raw_rate[pattern, workers] = record["messages_per_s"]
                report({"benchmark": "dispatcher_throughput", **record, **stamp})
    for name in options.scenarios:
        scenario = SCENARIOS[name]
        for workers in options.workers:
            record = await measure_dispatcher(
                scenario, workers, options.messages, options.transport, options.window
            )
            raw = raw_rate.get((scenario.pattern, workers))
            if raw:
                record["fraction_of_raw"] = round(record["messages_per_s"] / raw, 3)
            report({"benchmark": "dispatcher_throughput", **record, **stamp})
    if options.idle:
        record = await measure_idle(options.idle, options.messages, options.transport)
        report({"benchmark": "dispatcher_throughput", **record, **stamp})


async def run_until_terminated(
    options: BenchOptions, report: Callable[[dict[str, Any]], None]
) -> None:
    """:func:`run_all`, which SIGTERM ends as asyncio ends it on Ctrl-C: by cancelling, so
    every client is killed and every folder removed; then KeyboardInterrupt is raised."""
    if threading.current_thread() is not threading.main_thread():
        await run_all(options, report)
        return
    terminated = False
    async with anyio.create_task_group() as tg:

        async def cancel_on_sigterm() -> None:
            nonlocal terminated
            with anyio.open_signal_receiver(signal.SIGTERM) as signals:
                async for _ in signals:
                    terminated = True
                    tg.cancel_scope.cancel()

        tg.start_soon(cancel_on_sigterm)
        await run_all(options, report)
        tg.cancel_scope.cancel()
    if terminated:
        raise KeyboardInterrupt
