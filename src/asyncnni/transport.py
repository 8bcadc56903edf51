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


# plain ints: flag arithmetic on pyzmq's enums costs more than the send itself on the hot path
_NOBLOCK = int(zmq.NOBLOCK)
_SNDMORE_NOBLOCK = int(zmq.SNDMORE | zmq.NOBLOCK)
_POLLIN = int(zmq.POLLIN)
_EVENTS = int(zmq.EVENTS)


class PeerGone(Exception):
    """The peer an answer was for has disconnected."""


class RouterEndpoint:
    """A bound ROUTER socket used without blocking from one thread (the event loop's).

    ZeroMQ signals its file descriptor edge-like: after any send or receive, pending input
    may be announced only by :meth:`has_input`, so callers check it after every call."""

    def __init__(self, address: str) -> None:
        self._ctx = zmq.Context(io_threads=1)
        self._sock, self.address = bind_router(self._ctx, address)
        self.fd: int = self._sock.getsockopt(zmq.FD)

    def has_input(self) -> bool:
        return bool(self._sock.getsockopt(_EVENTS) & _POLLIN)

    def receive(self, limit: int) -> tuple[list[tuple[bytes, bytes]], int]:
        """Up to ``limit`` waiting (identity, frame) pairs, and how many malformed messages
        (not exactly one frame after the identity) were dropped."""
        sock = self._sock
        received: list[tuple[bytes, bytes]] = []
        dropped = 0
        try:
            while len(received) < limit:
                identity = sock.recv(_NOBLOCK)  # a ROUTER always puts one before the payload
                frame = sock.recv(_NOBLOCK, copy=False)  # a Frame knows `more` without a getsockopt
                if frame.more:  # more frames than the protocol has: skip them
                    while sock.recv(_NOBLOCK, copy=False).more:
                        pass
                    dropped += 1
                    continue
                received.append((identity, frame.bytes))
        except zmq.Again:
            pass
        return received, dropped

    def send(self, identity: bytes, frame: bytes) -> None:
        """Raises PeerGone when ``identity`` is no longer connected."""
        try:
            self._sock.send(identity, _SNDMORE_NOBLOCK)
            self._sock.send(frame, _NOBLOCK)
        except zmq.ZMQError as err:
            if err.errno == zmq.EHOSTUNREACH:
                raise PeerGone(identity) from None
            raise

    def close(self) -> None:
        self._sock.close(linger=0)
        self._ctx.term()
        if self.address.startswith("ipc://"):  # ZeroMQ leaves the socket file behind
            Path(self.address.removeprefix("ipc://")).unlink(missing_ok=True)
