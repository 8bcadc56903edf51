"""The dispatcher scenarios, the raw baseline runs and the idle-workers check.

Each ``measure_*`` coroutine builds what it measures in this process (a real
:class:`~asyncnni.dispatcher.Dispatcher` with a real :class:`~asyncnni.store.Store` in a
temporary folder, or the raw server), runs a :class:`ClientGroup` against it, tears it all
down and returns one record: the figures of one JSON line.
"""

from __future__ import annotations

import gc
import math
import resource
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from .. import transport
from ..dispatcher import Dispatcher
from ..store import open_store
from ..tuner import Tuner
from ..tuners.random import RandomTuner
from . import client
from .clients import BenchmarkError, ClientGroup, GroupResult
from .raw import SEARCH_SPACE, RawServer
from .report import peak_rss_mb, percentiles_us, reset_peak_rss, rss_mb

IDLE_SOCKETS_PER_PROCESS = 250


class ParentWaitTuner(RandomTuner):
    """Scenario d: every odd parameter id waits for the result of the one before it, as a
    weight-sharing child waits for its parent; then samples like Random."""

    async def generate_parameters(self, parameter_id: int, **info: Any) -> dict:
        if parameter_id % 2:
            await self.wait_for_result(parameter_id - 1)
        return await super().generate_parameters(parameter_id, **info)


@dataclass(frozen=True)
class Scenario:
    name: str
    pattern: str  # what each client does, see asyncnni.bench.client
    async_mode: bool
    make_tuner: Callable[[], Tuner]
    unit: str  # what one counted message is


SCENARIOS = {
    "a": Scenario("a", client.REPORTS, False, RandomTuner, "PERIODICAL report stored and ACKed"),
    "b": Scenario("b", client.ASKS, False, RandomTuner, "NEW_TRIAL round trip, serial mode"),
    "c": Scenario("c", client.ASKS, True, RandomTuner, "NEW_TRIAL round trip, async mode"),
    "d": Scenario(
        "d",
        client.CONFIGS,
        True,
        ParentWaitTuner,
        "configuration: NEW_TRIAL (odd ids wait on their parent) + FINAL report, async mode",
    ),
}


def bind_address(transport_name: str, folder: Path) -> str:
    if transport_name == "ipc":
        return transport.ipc_address(folder)
    if transport_name == "tcp":
        return "tcp://127.0.0.1:*"
    raise ValueError(f"transport must be ipc or tcp, not {transport_name!r}")


def client_specs(
    address: str, pattern: str, workers: int, per_worker: int, window: int, prefix: str
) -> list[dict[str, Any]]:
    return [
        {
            "address": address,
            "identities": [f"{prefix}-{i}"],
            "pattern": pattern,
            "count": per_worker,
            "window": window,
        }
        for i in range(workers)
    ]


def figures(result: GroupResult) -> dict[str, Any]:
    return {
        "messages": result.messages,
        "seconds": round(result.seconds, 4),
        "messages_per_s": round(result.messages_per_s, 1),
        **percentiles_us(result.latencies_ns),
    }


@asynccontextmanager
async def running_dispatcher(
    scenario: Scenario, transport_name: str, folder: Path
) -> AsyncIterator[Dispatcher]:
    """A dispatcher with a Random-style tuner and a fresh store, serving until the block ends."""
    store = open_store(folder / "store")
    dispatcher = Dispatcher(
        scenario.make_tuner(),
        store,
        address=bind_address(transport_name, folder),
        multi_phase=True,  # so one client may ask again and again
        async_mode=scenario.async_mode,
    )
    try:
        async with anyio.create_task_group() as tg:
            await tg.start(dispatcher.serve)
            await dispatcher.tuner.update_search_space(SEARCH_SPACE)
            yield dispatcher
            tg.cancel_scope.cancel()
    finally:
        store.close()


def _memory_run_start() -> tuple[float | None, bool]:
    """Free what earlier runs left, restart the peak, and return the RSS before this run."""
    gc.collect()
    reset = reset_peak_rss()
    return rss_mb(), reset


async def measure_dispatcher(
    scenario: Scenario, workers: int, messages: int, transport_name: str, window: int
) -> dict[str, Any]:
    per_worker = max(1, messages // workers)
    baseline, reset = _memory_run_start()
    with tempfile.TemporaryDirectory(prefix="asyncnni-bench-") as tmp:
        folder = Path(tmp)
        async with running_dispatcher(scenario, transport_name, folder) as dispatcher:
            specs = client_specs(
                dispatcher.address or "", scenario.pattern, workers, per_worker, window, "bench"
            )
            for spec in specs:
                dispatcher.register_job(spec["identities"][0])
            async with ClientGroup(specs, folder) as group:
                result = await group.run()
    return {
        "scenario": scenario.name,
        "unit": scenario.unit,
        "pattern": scenario.pattern,
        "workers": workers,
        "transport": transport_name,
        **figures(result),
        "baseline_rss_mb": baseline,
        "dispatcher_peak_rss_mb": peak_rss_mb(),
        "peak_rss_reset": reset,
    }


async def measure_raw(
    pattern: str, workers: int, messages: int, transport_name: str, window: int
) -> dict[str, Any]:
    """The same client pattern against the bare ROUTER (``oneway``: reports never answered)."""
    per_worker = max(1, messages // workers)
    with tempfile.TemporaryDirectory(prefix="asyncnni-bench-") as tmp:
        folder = Path(tmp)
        address = bind_address(transport_name, folder)
        with RawServer(address, answer_reports=pattern != client.ONEWAY) as server:
            specs = client_specs(server.address, pattern, workers, per_worker, window, "raw")
            async with ClientGroup(specs, folder) as group:
                result = await group.run()
    return {
        "scenario": "raw",
        "unit": f"the same messages as pattern {pattern!r}, bare ROUTER + msgpack",
        "pattern": pattern,
        "workers": workers,
        "transport": transport_name,
        **figures(result),
    }


def _allow_open_files(needed: int) -> None:
    """The dispatcher holds one descriptor per connected worker: lift the soft limit (often
    1024) towards the hard one, or say plainly why the check cannot run."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        limit = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
        if limit < needed:
            raise BenchmarkError(
                f"--idle needs about {needed} open files; the hard limit is {hard} (ulimit -Hn)"
            )


async def measure_idle(idle: int, messages: int, transport_name: str) -> dict[str, Any]:
    """One active client's NEW_TRIAL round trips (serial mode) before and while ``idle``
    other DEALERs are connected (each asked once, then silent), and the dispatcher's RSS."""
    scenario = SCENARIOS["b"]
    count = max(1, messages)
    _allow_open_files(idle + 256)
    baseline, reset = _memory_run_start()
    with tempfile.TemporaryDirectory(prefix="asyncnni-bench-") as tmp:
        folder = Path(tmp)
        async with running_dispatcher(scenario, transport_name, folder) as dispatcher:
            address = dispatcher.address or ""
            ids = [f"idle-{i}" for i in range(idle)]
            for job in [*ids, "before-0", "during-0"]:
                dispatcher.register_job(job)
            processes = max(1, math.ceil(idle / IDLE_SOCKETS_PER_PROCESS))
            idle_specs = [
                {"address": address, "identities": ids[i::processes], "pattern": client.IDLE}
                for i in range(processes)
                if ids[i::processes]
            ]

            async def active(prefix: str) -> GroupResult:
                specs = client_specs(address, client.ASKS, 1, count, 1, prefix)
                async with ClientGroup(specs, folder) as group:
                    return await group.run()

            alone = await active("before")
            rss_before_idle = rss_mb()
            async with ClientGroup(idle_specs, folder) as idlers:
                rss_idle = rss_mb()
                meanwhile = await active("during")
                rss_after = rss_mb()
                await idlers.stop()
    before = percentiles_us(alone.latencies_ns)
    return {
        "scenario": "idle",
        "unit": "NEW_TRIAL round trip of one active client, serial mode",
        "pattern": client.ASKS,
        "workers": 1,
        "idle_workers": idle,
        "transport": transport_name,
        **figures(meanwhile),
        "messages_per_s_without_idle": round(alone.messages_per_s, 1),
        **{f"{key}_without_idle": value for key, value in before.items()},
        "baseline_rss_mb": baseline,
        "dispatcher_rss_mb_before_idle": rss_before_idle,
        "dispatcher_rss_mb_idle_connected": rss_idle,
        "dispatcher_rss_mb": rss_after,
        "dispatcher_peak_rss_mb": peak_rss_mb(),
        "peak_rss_reset": reset,
    }
