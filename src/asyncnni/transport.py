"""Every ZeroMQ socket asyncnni opens is made here, with its options set in one place."""

from __future__ import annotations

import os
from pathlib import Path

import zmq

MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # a hostile or broken peer must not make us allocate more
HIGH_WATER_MARK = 100_000
IPC_PATH_LIMIT = 100  # sun_path holds 107 bytes on Linux; keep a margin


def _common(sock: zmq.Socket) -> None:
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, HIGH_WATER_MARK)
    sock.setsockopt(zmq.RCVHWM, HIGH_WATER_MARK)
    sock.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)


def bind_router(ctx: zmq.Context, address: str) -> tuple[zmq.Socket, str]:
    """A ROUTER bound at ``address``; returns it and the address clients should connect to
    (a ``tcp://host:*`` address gets its chosen port filled in)."""
    sock = ctx.socket(zmq.ROUTER)
    _common(sock)
    # learn at once that a peer is gone instead of dropping its answer silently
    sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
    sock.bind(address)
    return sock, sock.getsockopt_string(zmq.LAST_ENDPOINT)


def connect_dealer(ctx: zmq.Context, address: str, identity: str) -> zmq.Socket:
    """A DEALER whose routing identity is ``identity`` (a trial job id), connected to ``address``."""
    sock = ctx.socket(zmq.DEALER)
    _common(sock)
    sock.setsockopt(zmq.IDENTITY, identity.encode())
    sock.connect(address)
    return sock


def ipc_address(folder: Path) -> str:
    """An ipc:// address for a socket file in ``folder``, or in a short temp folder when the
    path would not fit in a Unix socket name."""
    path = folder / "dispatcher.sock"
    if len(str(path)) > IPC_PATH_LIMIT:
        path = Path("/tmp") / f"asyncnni-{os.getpid()}-{abs(hash(str(folder))) % 10**8}.sock"
    return f"ipc://{path}"
