"""Every ZeroMQ socket asyncnni opens is made here, with its options set in one place.

Security: a tcp ROUTER is a CURVE server whose ZAP handler admits only the client public
keys found in one folder (see :mod:`asyncnni.auth`); a client without one of them never
completes its handshake, so it can neither send nor receive anything. ipc sockets are
protected by the experiment folder's permissions.

Liveness: every connection carries ZMTP heartbeats, so a peer that vanished without closing
(a node that died, a cable pulled) is disconnected within seconds; both sides watch their
sockets' connection events (:class:`ConnectionWatch`, :meth:`RouterEndpoint.lost_peers`).
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import TYPE_CHECKING, NamedTuple

import zmq

# trials import this module: dataclasses and pathlib were a quarter of its import time
if TYPE_CHECKING:
    from pathlib import Path

MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # a hostile or broken peer must not make us allocate more
HIGH_WATER_MARK = 100_000
IPC_PATH_LIMIT = 100  # sun_path holds 107 bytes on Linux; keep a margin
PRIVATE_IPC_PREFIX = "asyncnni-ipc-"  # temp folders of dispatcher sockets whose path was too long
# ZMTP heartbeats (milliseconds). A trial pings every second and drops a silent connection
# after 4 s; its TTL tells the dispatcher to drop the trial after 6 s of silence. The
# dispatcher pings less often: with a thousand idle trials that is 500 small frames a second.
CLIENT_HEARTBEAT = (1000, 4000, 6000)  # interval, timeout, ttl
SERVER_HEARTBEAT = (2000, 6000, 0)
# the control channel (see asyncnni.control): small requests from the command line
CONTROL_MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # an import of many results fits
CONTROL_TIMEOUT_MS = 15_000  # a client gives up on an experiment that does not answer


class CurveServer(NamedTuple):
    """What a CURVE ROUTER needs: its key pair (Z85) and the folder of the client public
    keys it admits (``*.key`` files, zmq.auth's certificate format)."""

    public_key: bytes
    secret_key: bytes
    clients_folder: Path


class CurveClient(NamedTuple):
    """What a CURVE DEALER needs: the server's public key and its own key pair (Z85)."""

    server_key: bytes
    public_key: bytes
    secret_key: bytes


def _common(sock: zmq.Socket) -> None:
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, HIGH_WATER_MARK)
    sock.setsockopt(zmq.RCVHWM, HIGH_WATER_MARK)
    sock.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)


def _heartbeat(sock: zmq.Socket, settings: tuple[int, int, int]) -> None:
    interval, timeout, ttl = settings
    sock.setsockopt(zmq.HEARTBEAT_IVL, interval)
    sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, timeout)
    if ttl:
        sock.setsockopt(zmq.HEARTBEAT_TTL, ttl)


def bind_router(
    ctx: zmq.Context, address: str, curve: CurveServer | None = None
) -> tuple[zmq.Socket, str]:
    """A ROUTER bound at ``address``; returns it and the address it is bound to (a
    ``tcp://host:0`` or ``tcp://host:*`` address gets its chosen port filled in). With
    ``curve`` it is a CURVE server; the caller runs the ZAP handler (see RouterEndpoint)."""
    sock = ctx.socket(zmq.ROUTER)
    _common(sock)
    _heartbeat(sock, SERVER_HEARTBEAT)
    # learn at once that a peer is gone instead of dropping its answer silently
    sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
    # a trial that reconnects (after a network blip) takes its identity over from the stale
    # connection instead of being refused until the heartbeat drops the old one
    sock.setsockopt(zmq.ROUTER_HANDOVER, 1)
    if curve is not None:
        sock.setsockopt(zmq.CURVE_SERVER, 1)
        sock.setsockopt(zmq.CURVE_SECRETKEY, curve.secret_key)
    bindable = _bindable(address)
    try:
        sock.bind(bindable)
    except zmq.ZMQError:
        sock.close(linger=0)
        remove_ipc_socket(bindable)  # and the private folder made for it
        raise
    return sock, sock.getsockopt_string(zmq.LAST_ENDPOINT)


def _bindable(address: str) -> str:
    """``address`` as ZeroMQ binds it: ``tcp://host:0`` spelled ``tcp://host:*``, and an
    ipc:// path too long for a Unix socket name moved into a new private (0700) temp folder
    of its own, which :func:`remove_ipc_socket` takes away after close. Trials learn the
    bound address from their environment, so nobody derives it; a folder of its own leaves
    no name to guess or to take first. Made at bind time, it is never left by a run that
    failed before binding."""
    path = address.removeprefix("ipc://")
    if path != address and len(path) > IPC_PATH_LIMIT:
        import tempfile

        folder = tempfile.mkdtemp(prefix=PRIVATE_IPC_PREFIX)
        return f"ipc://{os.path.join(folder, os.path.basename(path))}"
    return _any_port(address)


def _any_port(address: str) -> str:
    """``tcp://host:0`` as ZeroMQ spells it (``tcp://host:*``)."""
    return (
        address[:-2] + ":*" if address.startswith("tcp://") and address.endswith(":0") else address
    )


DEALER_SEND_WAKEUP_MS = 1000


def connect_dealer(
    ctx: zmq.Context, address: str, identity: str, curve: CurveClient | None = None
) -> zmq.Socket:
    """A DEALER whose routing identity is ``identity`` (a trial job id), connected to
    ``address``; a CURVE client when ``curve`` is given."""
    sock = ctx.socket(zmq.DEALER)
    _common(sock)
    _heartbeat(sock, CLIENT_HEARTBEAT)
    # a DEALER whose only connection was refused (a wrong CURVE key) has no peer and blocks
    # in send for ever: blocking sends wake up this often, so the trial can look why
    sock.setsockopt(zmq.SNDTIMEO, DEALER_SEND_WAKEUP_MS)
    sock.setsockopt(zmq.IDENTITY, identity.encode())
    if curve is not None:
        sock.setsockopt(zmq.CURVE_SERVERKEY, curve.server_key)
        sock.setsockopt(zmq.CURVE_PUBLICKEY, curve.public_key)
        sock.setsockopt(zmq.CURVE_SECRETKEY, curve.secret_key)
    sock.connect(address)
    return sock


def advertised(bound: str, advertise: str | None) -> str:
    """The address trials connect to: ``advertise`` with its port 0 (or none) replaced by
    the bound port; without it the bound address, a wildcard host replaced by this
    machine's name."""
    if not bound.startswith("tcp://"):
        return bound
    host, _, port = bound.removeprefix("tcp://").rpartition(":")
    if advertise is None:
        if host in ("0.0.0.0", "*", "[::]", "::"):
            import socket

            host = socket.getfqdn()
        return f"tcp://{host}:{port}"
    target = advertise.removeprefix("tcp://")
    name, colon, given = target.rpartition(":")
    if not colon or "]" in given:  # no port (an IPv6 host's colons are inside brackets)
        name, given = target, "0"
    return f"tcp://{name}:{port if given in ('0', '*') else given}"


def ipc_address(folder: Path) -> str:
    """The ipc:// address of the dispatcher's socket file in ``folder`` (bound elsewhere
    when its path is too long: see :func:`bind_router`)."""
    return f"ipc://{folder / 'dispatcher.sock'}"


def remove_ipc_socket(address: str) -> None:
    """After a bound socket closed: remove the file of an ipc:// address (ZeroMQ leaves it
    behind), and the private folder bind_router made for it."""
    if not address.startswith("ipc://"):
        return
    path = address.removeprefix("ipc://")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    folder = os.path.dirname(path)
    if os.path.basename(folder).startswith(PRIVATE_IPC_PREFIX):
        with contextlib.suppress(OSError):
            os.rmdir(folder)


def bind_control(ctx: zmq.Context, path: Path) -> zmq.Socket:
    """The REP socket of an experiment's control channel, bound at the ipc socket file
    ``path`` (in a 0700 folder) and made owner-only (0600)."""
    sock = ctx.socket(zmq.REP)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.MAXMSGSIZE, CONTROL_MAX_MESSAGE_BYTES)
    try:
        sock.bind(f"ipc://{path}")
    except zmq.ZMQError:
        sock.close()
        raise
    os.chmod(path, 0o600)
    return sock


def connect_control(ctx: zmq.Context, path: Path) -> zmq.Socket:
    """A REQ socket to the control channel at ``path``: one request, one answer, and a
    clear timeout instead of waiting for ever on an experiment that hangs."""
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.MAXMSGSIZE, CONTROL_MAX_MESSAGE_BYTES)
    sock.setsockopt(zmq.RCVTIMEO, CONTROL_TIMEOUT_MS)
    sock.setsockopt(zmq.SNDTIMEO, CONTROL_TIMEOUT_MS)
    sock.connect(f"ipc://{path}")
    return sock


_CONNECTED = int(zmq.EVENT_HANDSHAKE_SUCCEEDED)
_DISCONNECTED = int(zmq.EVENT_DISCONNECTED)
_REFUSED = int(
    zmq.EVENT_HANDSHAKE_FAILED_AUTH
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
)


def _events(monitor: zmq.Socket) -> list[tuple[int, int]]:
    """The (event, value) pairs waiting on a monitor socket, without blocking."""
    events = []
    while True:
        try:
            head = monitor.recv(zmq.NOBLOCK)
            monitor.recv(zmq.NOBLOCK)  # the endpoint
        except zmq.Again:
            return events
        events.append((int.from_bytes(head[:2], "little"), int.from_bytes(head[2:6], "little")))


class ConnectionWatch:
    """Whether a connecting socket has a live connection, from its monitor events.

    ``lost_for()`` is how long the socket has been without a completed handshake (since it
    was made, or since its connection dropped), 0.0 while connected; ``refused`` says why
    the peer refused the handshake (a wrong key), if it did."""

    def __init__(self, sock: zmq.Socket) -> None:
        self._monitor = sock.get_monitor_socket(_CONNECTED | _DISCONNECTED | _REFUSED)
        self._lost_since: float | None = time.monotonic()
        self.refused: str | None = None

    def lost_for(self) -> float:
        for event, _ in _events(self._monitor):
            if event == _CONNECTED:
                self._lost_since, self.refused = None, None
            elif self._lost_since is None:
                self._lost_since = time.monotonic()
            if event == int(zmq.EVENT_HANDSHAKE_FAILED_AUTH):
                self.refused = "the dispatcher refused this trial's key"
            elif event & _REFUSED:
                self.refused = (
                    "the security handshake with the dispatcher failed "
                    "(ASYNCNNI_AUTH missing, or not the experiment's keys)"
                )
        return 0.0 if self._lost_since is None else time.monotonic() - self._lost_since

    def close(self) -> None:
        self._monitor.close(linger=0)


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
    may be announced only by :meth:`has_input`, so callers check it after every call.
    ``monitor_fd`` becomes readable when a connection dropped: :meth:`lost_peers` says whose.
    """

    def __init__(self, address: str, curve: CurveServer | None = None) -> None:
        self._ctx = zmq.Context(io_threads=1)
        self._auth = _start_authenticator(self._ctx, curve) if curve is not None else None
        self._sock, self.address = bind_router(self._ctx, address, curve)
        self.fd: int = self._sock.getsockopt(zmq.FD)
        self._monitor = self._sock.get_monitor_socket(_DISCONNECTED)
        self.monitor_fd: int = self._monitor.getsockopt(zmq.FD)
        # identity -> the file descriptor of the connection its messages came from: a
        # disconnect event names only the descriptor
        self._peer_fds: dict[bytes, int] = {}

    def lost_peers(self) -> list[bytes]:
        """Identities whose connection dropped since the last call (each one that had sent
        something over it). Call it whenever ``monitor_fd`` is readable: it reads every
        disconnect event (unread, they fill the monitor's queue, and libzmq then blocks the
        I/O thread that sends them, which stops all traffic after ~2,000 disconnects)."""
        closed = {fd for _, fd in _events(self._monitor)}
        if not closed:
            return []
        lost = [identity for identity, fd in self._peer_fds.items() if fd in closed]
        for identity in lost:
            del self._peer_fds[identity]
        return lost

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
                if identity not in self._peer_fds:
                    # SRCFD is deprecated in libzmq but kept; it is the one way to tie a
                    # routing identity to the connection whose end the monitor reports
                    self._peer_fds[identity] = frame.get(zmq.SRCFD)
                received.append((identity, frame.bytes))
                if len(received) == 1 and not self.has_input():
                    break  # a lone request: asking is cheaper than the exception of an empty queue
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
        self._monitor.close(linger=0)
        self._sock.close(linger=0)
        if self._auth is not None:
            self._auth.stop()
        self._ctx.term()
        remove_ipc_socket(self.address)


def _start_authenticator(ctx: zmq.Context, curve: CurveServer):
    """The ZAP handler of ``ctx``: a thread that admits the CURVE clients whose public keys
    are in ``curve.clients_folder``."""
    from zmq.auth.thread import ThreadAuthenticator

    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_curve(domain="*", location=str(curve.clients_folder))
    return auth
