"""The socket server: one ROUTER endpoint, bursts of messages, group commit, the outbox.

The socket's reader callback receives and handles a whole burst itself (no task wake-up per
burst). Records the burst produced are stored in one transaction; answers that promise
durability (ACK) wait in the outbox until that commit, everything else goes out at once. A
version-3 peer's ACK rides on the PARAMETERS or NO_MORE_TRIALS it gets after that commit
(a multi-phase configuration: one answer frame, not two).
Records that promise nothing (parameter sets handed out) wait at most COMMIT_DELAY for a
commit that some answer needs, so bursts of NEW_TRIALs share one.
ZeroMQ signals its FD edge-like, so after every send the server looks for input again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import anyio

from .. import protocol, transport
from ..store import Event, JobEnd, JobStart, Metric, ParameterSet, Store

log = logging.getLogger("asyncnni.dispatcher")

MAX_BATCH = 1024  # frames handled per commit; bounds the latency one burst adds
COMMIT_DELAY = 0.002  # seconds records that promise nothing may wait for the next commit

Handler = Callable[[list[tuple[bytes, bytes]]], None]


class SocketServer:
    """Owns the endpoint, the records of the current burst and the answers that wait for
    their commit. It is the one place that commits while the dispatcher runs."""

    def __init__(
        self,
        address: str,
        store: Store,
        handle: Handler,
        curve: transport.CurveServer | None = None,
        on_lost: Callable[[list[bytes]], None] | None = None,
    ) -> None:
        self.bind_address = address
        self.curve = curve
        self.address: str | None = None
        self.store = store
        self._handle = handle
        self._on_lost = on_lost or (lambda identities: None)
        self._endpoint: transport.RouterEndpoint | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outbox: list[tuple[bytes, bytes]] = []
        self._acks: dict[bytes, int] = {}  # peer -> the request its cumulative ACK names
        # peer -> the protocol version it speaks, for those older than protocol.VERSION:
        # every answer to it is in that version
        self.older_peers: dict[bytes, int] = {}
        self._parameter_sets: list[ParameterSet] = []
        self._metrics: list[Metric] = []
        self._other: list[JobStart | JobEnd | Event] = []  # in order: a job starts, then ends
        self._burst_scheduled = False
        self._flush_scheduled = False
        self._commit_timer: asyncio.TimerHandle | None = None
        self._failed = anyio.Event()
        self._failure: Exception | None = None

    # --- records ----------------------------------------------------------------------

    def record_parameter_set(self, record: ParameterSet) -> None:
        self._parameter_sets.append(record)

    def record_metric(self, record: Metric) -> None:
        self._metrics.append(record)

    @property
    def holds_metrics(self) -> bool:
        """Whether reports wait for their commit."""
        return bool(self._metrics)

    def record(self, record: JobStart | JobEnd | Event) -> None:
        """A record outside the hot path; it is committed at the next flush (soon)."""
        self._other.append(record)
        self.flush_soon()

    # --- answers ----------------------------------------------------------------------

    def send(self, identity: bytes, message: dict) -> None:
        """Send at once (promises no durability)."""
        self.send_frame(identity, protocol.encode(message))
        self.check_readable()

    def send_frame(self, identity: bytes, frame: bytes) -> None:
        if self._endpoint is None:  # closed: the peers are being stopped
            return
        try:
            self._endpoint.send(identity, frame)
        except transport.PeerGone:
            log.debug("peer %r is gone; an answer to it was dropped", identity)
        except Exception as err:  # a full queue or a closing socket: say so, keep serving
            log.error("could not send to %r: %s", identity, err)

    def answer(self, identity: bytes, message: dict) -> None:
        """Send a PARAMETERS or NO_MORE_TRIALS at once (the caller checks for input). To a
        version-3 peer whose reports are all committed it carries the peer's cumulative
        ACK, which then needs no frame of its own."""
        if message["v"] >= protocol.OPTIONAL_SINCE and not self._metrics:
            acked = self._acks.pop(identity, None)
            if acked is not None:
                protocol.with_ack(message, acked)  # type: ignore[arg-type]
        self.send_frame(identity, protocol.encode(message))

    def send_after_commit(self, identity: bytes, message: dict) -> None:
        self._outbox.append((identity, protocol.encode(message)))

    def ack_after_commit(self, identity: bytes, req: int) -> None:
        """After the next commit, one ACK tells ``identity`` that its reports up to ``req``
        are stored (protocol version 2 and later): one answer per peer and commit, not per
        report; to a version-3 peer it may ride on an answer (:meth:`answer`)."""
        if req > self._acks.get(identity, -1):
            self._acks[identity] = req

    # --- the loop ---------------------------------------------------------------------

    def open(self) -> str:
        self._endpoint = transport.RouterEndpoint(self.bind_address, self.curve)
        self.address = self._endpoint.address
        self._loop = asyncio.get_running_loop()
        return self.address

    async def serve(self) -> None:
        """Own the reader callback until cancelled; an error in it is raised here, so it
        ends the dispatcher like any task's."""
        loop, endpoint = self._loop, self._endpoint
        assert loop is not None and endpoint is not None
        loop.add_reader(endpoint.fd, self._receive_burst)
        loop.add_reader(endpoint.monitor_fd, self._connections_dropped)
        try:
            self.check_readable()  # input may have arrived before the reader was added
            self._connections_dropped()
            await self._failed.wait()
            assert self._failure is not None
            raise self._failure
        finally:
            loop.remove_reader(endpoint.fd)
            loop.remove_reader(endpoint.monitor_fd)

    def _connections_dropped(self) -> None:
        if self._endpoint is None:
            return
        try:
            lost = self._endpoint.lost_peers()
            if lost:
                self._on_lost(lost)
        except Exception as err:
            self.fail(err)

    def close(self) -> None:
        """Close the socket (once) and commit what is recorded; may be called again to
        commit what was recorded since."""
        if self._endpoint is not None:
            self._endpoint.close()
            self._endpoint = None
        self._store_records()
        self.store.commit()

    def check_readable(self) -> None:
        if not self._burst_scheduled and self._endpoint is not None and self._endpoint.has_input():
            self._burst_scheduled = True
            self._loop.call_soon(self._receive_burst)  # type: ignore[union-attr]

    def fail(self, err: BaseException) -> None:
        """End the dispatcher with ``err`` (an unexpected error in one of its tasks)."""
        if self._failure is None:
            self._failure = err if isinstance(err, Exception) else RuntimeError(repr(err))
            self._failed.set()

    def _receive_burst(self) -> None:
        """Handle up to MAX_BATCH waiting messages, commit once, send the answers; if more
        wait, come back after the tasks that are ready (fairness to tuner tasks)."""
        self._burst_scheduled = False
        try:
            batch, dropped = self._endpoint.receive(MAX_BATCH)  # type: ignore[union-attr]
            if dropped:
                log.warning("dropped %d message(s) of more than one frame", dropped)
            if batch:
                self._handle(batch)
                self.settle()  # it looks for input again
            else:
                self.check_readable()
        except Exception as err:
            self.fail(err)

    def _store_records(self) -> None:
        store = self.store
        if self._other:
            for record in self._other:
                if type(record) is JobStart:
                    store.add_job_start(record)
                elif type(record) is JobEnd:
                    store.add_job_end(record)
                else:
                    store.add_event(record)  # type: ignore[arg-type]
            self._other = []
        if self._parameter_sets:
            store.add_parameter_sets(self._parameter_sets)
            self._parameter_sets = []
        if self._metrics:
            store.add_metrics(self._metrics)
            self._metrics = []

    def flush(self) -> None:
        """Store what the last burst brought, commit, then send every answer that waited for
        the commit; every burst of work ends here, so here input that arrived during its
        sends is noticed."""
        self.commit()
        self._send_answers()
        self.check_readable()

    def commit(self) -> None:
        """Store and commit what was recorded; the answers that waited for it may go."""
        self._store_records()
        self.store.commit()

    def _send_answers(self) -> None:
        outbox, self._outbox = self._outbox, []
        for identity, frame in outbox:
            self.send_frame(identity, frame)
        if self._acks:
            acks, self._acks = self._acks, {}
            versions = self.older_peers
            for identity, req in acks.items():
                ack = protocol.ack(req, versions.get(identity, protocol.VERSION))
                self.send_frame(identity, protocol.encode(ack))

    def settle(self) -> None:
        """The end of a piece of work: answers that promise durability go out once the
        reports they confirm are committed (at once if they were, as when the burst committed
        before the tuner heard of them); records that promise nothing wait, at most
        COMMIT_DELAY, to share the next commit."""
        if self._metrics:
            self.flush()
            return
        self._send_answers()
        if (self._parameter_sets or self._other) and self._commit_timer is None:
            self._commit_timer = self._loop.call_later(COMMIT_DELAY, self._timed_flush)  # type: ignore[union-attr]
        self.check_readable()

    def _timed_flush(self) -> None:
        self._commit_timer = None
        self.flush()

    def flush_soon(self) -> None:
        """Flush once the tasks ready in this loop iteration have run: many tuner tasks that
        finish together share one commit."""
        if not self._flush_scheduled and self._loop is not None:
            self._flush_scheduled = True
            self._loop.call_soon(self._scheduled_flush)

    def _scheduled_flush(self) -> None:
        self._flush_scheduled = False
        self.flush()
