"""The raw baseline: a bare ROUTER answering with msgpack, no dispatcher, no store, no tuner.

It answers the same requests with messages of the same size as the dispatcher's (PARAMETERS
with parameters shaped like the Random tuner's over :data:`SEARCH_SPACE`, ACK), so the
clients run unchanged and each dispatcher figure can be given as a fraction of this limit.
It runs in a thread of the benchmark's process: a plain blocking loop, the fastest server
Python can be over pyzmq.
"""

from __future__ import annotations

import errno
import threading
from types import TracebackType

import msgpack
import zmq

from .. import protocol, transport
from ..dispatcher.server import MAX_BATCH

# the quickstart's space: the parameters every benchmark tuner hands out
SEARCH_SPACE = {
    "features": {"_type": "choice", "_value": [128, 256, 512, 1024]},
    "lr": {"_type": "loguniform", "_value": [0.0001, 0.1]},
    "momentum": {"_type": "uniform", "_value": [0, 1]},
}
SAMPLE_PARAMETERS = {"features": 512, "lr": 0.0012345678901234567, "momentum": 0.123456789012345}
POLL_MS = 50  # how soon the loop notices stop()


class RawServer:
    """``with RawServer(address, answer_reports) as server:`` binds and serves in a thread;
    ``server.address`` is where clients connect. Leaving the block stops and joins it."""

    def __init__(self, address: str, *, answer_reports: bool = True) -> None:
        self.bind_address = address
        self.answer_reports = answer_reports
        self.address = ""
        self._ctx = zmq.Context(io_threads=1)
        self._stop = threading.Event()
        self._bound = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, name="raw-router", daemon=True)

    def __enter__(self) -> RawServer:
        self._thread.start()
        self._bound.wait()
        if self._error is not None:
            raise self._error
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._ctx.term()
        transport.remove_ipc_socket(self.address)

    def _serve(self) -> None:
        try:
            sock, self.address = transport.bind_router(self._ctx, self.bind_address)
        except BaseException as err:
            self._error = err
            self._bound.set()
            return
        self._bound.set()
        try:
            self._loop(sock)
        finally:
            sock.close(linger=0)

    def _loop(self, sock: zmq.Socket) -> None:
        # take up to the dispatcher's batch of what is queued, then answer it all: the shape
        # the dispatcher uses, so the baseline is the limit of the sockets and the codec, not
        # of a slower loop (answering per message) or a burstier one (an unbounded drain)
        next_parameter_id = 0
        packb, unpackb = msgpack.packb, msgpack.unpackb
        while not self._stop.is_set():
            if not sock.poll(POLL_MS):
                continue
            answers = []
            for _ in range(MAX_BATCH):
                try:
                    identity, frame = sock.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                message = unpackb(frame, raw=False)
                if message["kind"] == protocol.NEW_TRIAL:
                    answer = protocol.parameters(
                        message["req"],
                        next_parameter_id,
                        message["parameter_index"],
                        SAMPLE_PARAMETERS,
                        "algorithm",
                    )
                    next_parameter_id += 1
                elif self.answer_reports:
                    answer = protocol.ack(message["req"])
                else:
                    continue
                answers.append((identity, packb(answer, use_bin_type=True)))
            for identity_and_frame in answers:
                try:
                    sock.send_multipart(identity_and_frame, zmq.NOBLOCK)
                except zmq.ZMQError as err:  # a client that left early: nobody to answer
                    if err.errno != errno.EHOSTUNREACH:
                        raise
