"""The dashboard's ASGI app: the page, its JSON API, live updates and NNI's REST read API.

Live updates are server-sent events: one task per server refreshes the store mirror a few
times a second (a no-op query when nothing was committed) and wakes every open event stream
when the mirror's version moves; the page then fetches only what it shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import nni_rest
from .mirror import StoreMirror
from .views import Views

STATIC = Path(__file__).parent / "static"
REFRESH_SECONDS = 0.5  # a new result is on the page within a second
HEARTBEAT_SECONDS = 15.0  # keeps proxies from closing an idle event stream
LOG_TAIL_BYTES = 16384


class Changes:
    """Wakes every waiter when the mirror's version moves (a new event per version)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.version = 0

    def publish(self, version: int) -> None:
        self.version = version
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seen: int, timeout: float) -> int:
        if self.version == seen:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), timeout)
        return self.version


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers={"Cache-Control": "no-store"})


def _error(message: str, status: int) -> JSONResponse:
    return _json({"error": message}, status)


def create_app(folder: Path, *, on_ready: Callable[[], None] | None = None) -> Starlette:
    """The dashboard of the experiment stored in ``folder``; it only reads the store."""
    mirror = StoreMirror(folder)
    views = Views(mirror)
    changes = Changes()

    async def refresher() -> None:
        while True:
            if await anyio.to_thread.run_sync(mirror.refresh):
                changes.publish(mirror.version)
            # another process writes the store: SQLite tells no one, so look (one cheap query)
            await anyio.sleep(REFRESH_SECONDS)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(mirror.refresh)  # the first load, before any request
        changes.publish(mirror.version)
        async with anyio.create_task_group() as tg:
            tg.start_soon(refresher)
            if on_ready is not None:
                on_ready()
            try:
                yield
            finally:
                tg.cancel_scope.cancel()
        mirror.close()

    def query(request: Request, name: str, default: str = "") -> str:
        return request.query_params.get(name, default)

    def overview(request: Request) -> Response:
        return _json(views.overview())

    def trials(request: Request) -> Response:
        try:
            page = int(query(request, "page", "0"))
            size = int(query(request, "size", "50"))
            data = views.trials(
                page=page,
                size=size,
                sort=query(request, "sort", "sequence"),
                order=query(request, "order", "asc"),
                status=query(request, "status"),
                q=query(request, "q"),
            )
        except ValueError as err:
            return _error(str(err), 400)
        return _json(data)

    def trial(request: Request) -> Response:
        try:
            return _json(views.trial(request.path_params["job"]))
        except LookupError as err:
            return _error(str(err), 404)

    def hyperparameters(request: Request) -> Response:
        return _json(views.hyperparameters())

    def intermediate(request: Request) -> Response:
        ids = query(request, "ids")
        try:
            chosen = [int(i) for i in ids.split(",") if i.strip()] if ids else None
        except ValueError:
            return _error(f"ids must be parameter ids separated by commas, not {ids!r}", 400)
        return _json(views.intermediate(chosen))

    def lineage(request: Request) -> Response:
        return _json(views.lineage())

    def streams(request: Request) -> Response:
        return _json(views.streams())

    async def events(request: Request) -> Response:
        async def stream() -> AsyncIterator[str]:
            seen = -1
            while True:
                version = await changes.wait(seen, HEARTBEAT_SECONDS)
                if version == seen:
                    yield ": heartbeat\n\n"
                    continue
                seen = version
                yield f"event: change\ndata: {json.dumps({'version': version})}\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream", headers=_NO_BUFFER)

    async def log(request: Request) -> Response:
        job = request.query_params.get("trial") or None
        try:
            path = views.log_path(job)
        except LookupError as err:
            return _error(str(err), 404)
        return StreamingResponse(_tail(path), media_type="text/event-stream", headers=_NO_BUFFER)

    def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    routes = [
        Route("/", index),
        Route("/api/overview", overview),
        Route("/api/trials", trials),
        Route("/api/trials/{job}", trial),
        Route("/api/hyperparameters", hyperparameters),
        Route("/api/intermediate", intermediate),
        Route("/api/lineage", lineage),
        Route("/api/streams", streams),
        Route("/api/events", events),
        Route("/api/log", log),
        Mount("/api/v1/nni", routes=nni_rest.routes(mirror)),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


_NO_BUFFER = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


async def _tail(path: Path) -> AsyncIterator[str]:
    """The last LOG_TAIL_BYTES of a log, then what is appended to it, as ``data:`` events
    (one per chunk; the page splits lines). Waits for a log that does not exist yet."""
    offset = None
    while True:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            size = None
        if size is not None:
            if offset is None or size < offset:  # first look, or the file was replaced
                offset = max(0, size - LOG_TAIL_BYTES)
            if size > offset:
                with path.open("rb") as f:
                    f.seek(offset)
                    chunk = f.read(size - offset)
                offset = size
                text = chunk.decode("utf-8", errors="replace")
                yield "".join(f"data: {line}\n" for line in text.split("\n")) + "\n"
        # a trial's log is a file another process appends to: follow it as tail -f does
        await anyio.sleep(REFRESH_SECONDS * 2)
