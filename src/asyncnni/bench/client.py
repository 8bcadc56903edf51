"""A benchmark client process: ``python -m asyncnni.bench.client '<spec JSON>'``.

It speaks the wire protocol of DESIGN.md over DEALER sockets made by :mod:`asyncnni.transport`,
to a dispatcher or to the raw baseline server, and talks to the parent over its stdio:

1. connect, make one warm-up round trip (so connection set-up is never timed), print ``ready``;
2. wait for a line on stdin (``go``), then run its pattern, timing each request with
   ``time.perf_counter_ns``;
3. write the latencies (int64 nanoseconds, native order) to ``spec["latency_file"]`` and print
   one JSON line ``{"start_ns", "end_ns", "count"}`` (CLOCK_MONOTONIC, comparable across
   processes), then exit.

Idle clients open many sockets, make their warm-up round trips, print ``ready`` and hold the
connections until the line on stdin (or its end). A dispatcher that stays silent for
``ANSWER_TIMEOUT_MS`` makes the client fail instead of hanging forever.

Only pyzmq, msgpack and :mod:`asyncnni.protocol` are imported, so 64 of them start quickly.
"""

from __future__ import annotations

import json
import sys
import time
from array import array
from typing import Any

import msgpack
import zmq

from .. import protocol, transport

ANSWER_TIMEOUT_MS = 30_000
METRIC_VALUE = 0.5

REPORTS = "reports"  # pipelined PERIODICAL reports, a window of them unacknowledged
ASKS = "asks"  # NEW_TRIAL round trips, one at a time
CONFIGS = "configs"  # NEW_TRIAL, then the FINAL report of that configuration, one at a time
ONEWAY = "oneway"  # reports that expect no answer (raw baseline only), then one round trip
IDLE = "idle"  # many sockets that connect, ask once and then stay silent
PATTERNS = (REPORTS, ASKS, CONFIGS, ONEWAY, IDLE)


class BenchmarkClientError(RuntimeError):
    """The server answered ERROR, answered out of turn, or fell silent."""


class Connection:
    """One DEALER socket with its trial job id and request counter."""

    def __init__(self, ctx: zmq.Context, address: str, identity: str) -> None:
        self.identity = identity
        self.sock = transport.connect_dealer(ctx, address, identity)
        self.req = 0
        self.parameter_index = 0

    def send(self, message: dict) -> None:
        self.sock.send(protocol.encode(message))

    def receive(self) -> dict:
        if not self.sock.poll(ANSWER_TIMEOUT_MS):
            raise BenchmarkClientError(
                f"{self.identity}: no answer within {ANSWER_TIMEOUT_MS / 1000:.0f} s"
            )
        answer = msgpack.unpackb(self.sock.recv(), raw=False)
        if answer.get("kind") == protocol.ERROR:
            raise BenchmarkClientError(f"{self.identity}: {answer['code']}: {answer['message']}")
        return answer

    def ask(self) -> int:
        """One NEW_TRIAL round trip; returns the parameter id handed out."""
        self.req += 1
        self.send(protocol.new_trial(self.req, self.identity, self.parameter_index))
        answer = self.receive()
        if answer["kind"] != protocol.PARAMETERS or answer["req"] != self.req:
            raise BenchmarkClientError(f"{self.identity}: expected PARAMETERS, got {answer}")
        self.parameter_index += 1
        return answer["parameter_id"]

    def report(self, parameter_id: int, type_: str, sequence: int) -> int:
        """Send one report without waiting; returns its request id."""
        self.req += 1
        self.send(
            protocol.report_metric(
                self.req, self.identity, parameter_id, type_, sequence, METRIC_VALUE
            )
        )
        return self.req

    def expect_ack(self, req: int) -> None:
        answer = self.receive()
        if answer["kind"] != protocol.ACK or answer["req"] != req:
            raise BenchmarkClientError(f"{self.identity}: expected ACK {req}, got {answer}")


def run_reports(conn: Connection, count: int, window: int, latencies: array) -> None:
    """Keep up to ``window`` PERIODICAL reports in flight; latency = send to the ACK that
    covers it (from protocol version 2: an ACK confirms every report up to its request)."""
    parameter_id = conn.ask()
    first_req = conn.req + 1
    sent_ns = array("q", bytes(8 * count))
    sent = received = 0
    while received < count:
        while sent < count and sent - received < window:
            sent_ns[sent] = time.perf_counter_ns()
            conn.report(parameter_id, protocol.PERIODICAL, sent)
            sent += 1
        answer = conn.receive()
        now = time.perf_counter_ns()
        if answer["kind"] != protocol.ACK:
            raise BenchmarkClientError(f"{conn.identity}: expected ACK, got {answer}")
        for i in range(received, answer["req"] - first_req + 1):
            latencies[i] = now - sent_ns[i]
        received = max(received, answer["req"] - first_req + 1)


def run_asks(conn: Connection, count: int, latencies: array) -> None:
    for i in range(count):
        start = time.perf_counter_ns()
        conn.ask()
        latencies[i] = time.perf_counter_ns() - start


def run_configs(conn: Connection, count: int, latencies: array) -> None:
    """Latency is the NEW_TRIAL round trip (it may wait on a parent); each configuration then
    gets its FINAL report, acknowledged before the next ask, as ``report_final_result`` does."""
    for i in range(count):
        start = time.perf_counter_ns()
        parameter_id = conn.ask()
        latencies[i] = time.perf_counter_ns() - start
        conn.expect_ack(conn.report(parameter_id, protocol.FINAL, 0))


def run_oneway(conn: Connection, count: int) -> None:
    """Reports with no answers; the closing round trip arrives after all of them (one
    connection keeps order), so the end time covers their delivery."""
    parameter_id = conn.ask()
    for i in range(count):
        conn.report(parameter_id, protocol.PERIODICAL, i)
    conn.ask()


def _warm_up(conn: Connection, pattern: str) -> None:
    """One round trip before timing; a CONFIGS client also reports on it, because in
    scenario d the next configuration may wait on this one's result."""
    parameter_id = conn.ask()
    if pattern == CONFIGS:
        conn.expect_ack(conn.report(parameter_id, protocol.FINAL, 0))


def _measure(conn: Connection, spec: dict[str, Any]) -> dict[str, int]:
    pattern, count = spec["pattern"], spec["count"]
    latencies = array("q", bytes(8 * count))
    start = time.monotonic_ns()
    if pattern == REPORTS:
        run_reports(conn, count, spec["window"], latencies)
    elif pattern == ASKS:
        run_asks(conn, count, latencies)
    elif pattern == CONFIGS:
        run_configs(conn, count, latencies)
    elif pattern == ONEWAY:
        run_oneway(conn, count)
        latencies = array("q")  # no per-message answers, so no latencies
    else:
        raise ValueError(f"unknown pattern {pattern!r}; expected one of {', '.join(PATTERNS)}")
    end = time.monotonic_ns()
    with open(spec["latency_file"], "wb") as out:
        latencies.tofile(out)
    return {"start_ns": start, "end_ns": end, "count": count}


def _die_with_parent() -> None:
    """Ask Linux for SIGTERM when the parent dies, however it dies (even SIGKILL), so a
    client never outlives its benchmark; elsewhere the answer timeout ends it."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import os
    import signal

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() == 1:  # the parent died before prctl: no signal will come
        sys.exit(1)


def main(argv: list[str]) -> int:
    _die_with_parent()
    spec = json.loads(argv[1])
    ctx = zmq.Context(io_threads=1)
    conns: list[Connection] = []
    try:
        for identity in spec["identities"]:
            conns.append(Connection(ctx, spec["address"], identity))
            _warm_up(conns[-1], spec["pattern"])
        print("ready", flush=True)
        sys.stdin.readline()  # "go" (or, for idle clients, "stop"); EOF when the parent died
        if spec["pattern"] != IDLE:
            print(json.dumps(_measure(conns[0], spec)), flush=True)
        return 0
    except BenchmarkClientError as err:
        print(f"benchmark client: {err}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; the parent reports it
        return 130
    finally:
        for conn in conns:
            conn.sock.close(linger=0)
        ctx.term()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
