"""Serving the dashboard: uvicorn on a socket we bind ourselves, so port 0 works and the
address is known (and written to ``dashboard.json`` in the experiment folder) before the
first request; ``asyncnni status`` and the tests read it from there."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import anyio
import uvicorn

from ..store import DB_NAME
from .app import create_app

ADDRESS_FILE = "dashboard.json"
CHILD_NICENESS = 10


def url_of(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise OSError(
            f"cannot serve the dashboard on {url_of(host, port)}: {err.strerror}"
        ) from None
    sock.listen(128)
    return sock


def serve(
    folder: Path, host: str = "127.0.0.1", port: int = 8080, *, parent_pid: int | None = None
) -> None:
    """Serve the dashboard of the experiment in ``folder`` until interrupted (or, with
    ``parent_pid``, until that process is gone: the dashboard of ``asyncnni run --port``)."""
    if parent_pid is not None:
        # beside a run, the dashboard takes only CPU the experiment leaves: on a busy machine
        # its pages slow down, the dispatcher does not
        os.nice(CHILD_NICENESS)
        _wait_for_store(folder, parent_pid)
    address_file = folder / ADDRESS_FILE
    url = ""

    def ready() -> None:
        # whole or not at all: readers poll for this file
        partial = address_file.with_name(f".{ADDRESS_FILE}.{os.getpid()}")
        partial.write_text(json.dumps({"url": url, "pid": os.getpid()}))
        partial.replace(address_file)
        print(f"dashboard: {url}", flush=True)

    app = create_app(folder, on_ready=ready)  # LookupError without a store, before binding
    sock = _bind(host, port)
    url = url_of(host, sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        log_level="warning",
        timeout_graceful_shutdown=1,  # open event streams never end by themselves
        lifespan="on",
    )
    server = uvicorn.Server(config)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            if parent_pid is not None:
                tg.start_soon(_exit_with_parent, server, parent_pid)
            await server.serve(sockets=[sock])
            tg.cancel_scope.cancel()

    try:
        anyio.run(main)
    finally:
        sock.close()
        try:
            if json.loads(address_file.read_text()).get("pid") == os.getpid():
                address_file.unlink()
        except (FileNotFoundError, ValueError):
            pass


def _wait_for_store(folder: Path, parent_pid: int) -> None:
    """The experiment that started us creates its store once its tuner accepted the space."""
    while not (folder / DB_NAME).is_file():
        if os.getppid() != parent_pid:
            raise SystemExit(0)
        time.sleep(0.1)  # the experiment, another process, creates the store at its start


async def _exit_with_parent(server: uvicorn.Server, parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        await anyio.sleep(1)  # a parent's death signals nothing to its child: look
    server.should_exit = True
