"""The trial-side API: what trial code calls.

Inside an experiment the training service sets ``ASYNCNNI_DISPATCHER`` and friends, and the
calls below speak the wire protocol to the dispatcher over one DEALER socket. Outside an
experiment (plain ``python model.py``) they run standalone: ``get_next_parameter`` returns
the JSON given by ``--params '{...}'`` or ``$ASYNCNNI_PARAMS`` (else ``{}``), and reports are
printed, so trial code can be debugged without the machinery.

This module imports only pyzmq and msgpack (through protocol/transport), so a trial starts
almost as fast as a bare interpreter.
"""

from __future__ import annotations

import atexit
import json
import numbers
import os
import sys
import time
from collections import deque
from typing import Any

from . import protocol
from .errors import AsyncNNIError

STANDALONE = "STANDALONE"
FINAL_ACK_TIMEOUT = 5.0  # seconds before a final report is sent again (stored once either way)
FINAL_ACK_DEADLINE = 120.0  # give up (raise) when the dispatcher stays silent this long
LIVENESS_INTERVAL = 1.0  # seconds between looks at the connection while waiting
# a trial gives up on its experiment after this long without a connection to the dispatcher
# (ZMTP heartbeats drop a connection to a vanished machine within 4 s; see transport)
LIVENESS_TIMEOUT = 5.0
# a trial that only reports looks for answers (ACKs, errors) after this many reports: each
# cumulative ACK confirms every report before it, so reading them one by one is wasted work
ANSWER_CHECK_EVERY = 64


class TrialError(AsyncNNIError, RuntimeError):
    """The dispatcher refused a request of this trial, or could not be reached."""


def _wire_metric(metric: Any) -> Any:
    """A metric as the protocol carries it: a float, or a map with a float under "default".

    numpy and torch scalars become floats here; anything else is refused at the call site,
    in the trial, where the user sees the line that caused it."""
    if type(metric) is float and metric - metric == 0.0:  # finite: inf - inf and nan are nan
        return metric
    if isinstance(metric, dict):
        if "default" not in metric:
            raise ValueError(
                f"a metric map needs a number under 'default', got keys {sorted(metric)}"
            )
        return {
            str(k): _wire_metric(v) if k == "default" else protocol.plain_values(v)
            for k, v in metric.items()
        }
    if isinstance(metric, bool) or not isinstance(metric, numbers.Real):
        item = getattr(metric, "item", None)  # a 0-d tensor or array
        if item is None:
            raise TypeError(
                f"a metric must be a number or a map with 'default', got {type(metric).__name__}"
            )
        return _wire_metric(item())
    value = float(metric)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"a metric must be finite, got {value}")
    return value


class TrialClient:
    """One trial job's connection to the dispatcher. Not thread-safe: one per process."""

    def __init__(self, address: str, trial_job_id: str, curve: Any = None) -> None:
        import zmq

        from . import transport

        self._again = zmq.Again
        self._noblock = int(zmq.NOBLOCK)
        self.trial_job_id = trial_job_id
        self.address = address
        self._ctx = zmq.Context(io_threads=1)
        self._sock = transport.connect_dealer(self._ctx, address, trial_job_id, curve)
        self._watch = transport.ConnectionWatch(self._sock)
        self._next_look = time.monotonic() + LIVENESS_INTERVAL
        # a blocking receive wakes up this often to look at the connection
        self._sock.setsockopt(zmq.RCVTIMEO, int(LIVENESS_INTERVAL * 1000))
        self._next_req = 0
        # (req, frame) of every report not yet acknowledged, oldest first: what a retry sends
        self._unacked: deque[tuple[int, bytes]] = deque()
        self._unchecked = 0  # reports sent since the trial last looked for answers
        self._answers: dict[int, dict] = {}  # answers that came while waiting for others
        self._reports: protocol.ReportFrames | None = None  # of the current parameter set
        self.parameter_id: int | None = None
        self.parameter_index = -1
        self.parameters: dict | None = None
        self._sequence = 0
        self._closed = False

    def _send(self, message: dict) -> bytes:
        frame = protocol.encode(message)
        while True:
            try:
                self._sock.send(frame, copy=len(frame) > 4096)
                return frame
            except self._again:  # no peer to send to: refused, or the experiment is gone
                self._check_experiment()

    def _req(self) -> int:
        self._next_req += 1
        return self._next_req

    def _receive(self, timeout_s: float | None) -> dict | None:
        """One answer, or None when ``timeout_s`` passes first (None: wait as long as the
        experiment lives; 0: only what is here already)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            try:
                frame = self._sock.recv(self._noblock if timeout_s == 0 else 0)
                break
            except self._again:
                if timeout_s == 0:
                    return None
                self._check_experiment()
                if deadline is not None and time.monotonic() >= deadline:
                    return None
        answer = protocol.decode(frame)
        kind, req = answer["kind"], answer.get("req")
        unacked = self._unacked
        if kind == protocol.ERROR:
            if req is None:
                raise TrialError(f"dispatcher: {answer['code']}: {answer['message']}")
            if unacked and unacked[0][0] <= req:  # a refused report is not sent again
                self._unacked = deque(entry for entry in unacked if entry[0] != req)
            return answer
        # cumulative: every report up to it is stored (an ACK, or one riding on an answer)
        acked = req if kind == protocol.ACK else answer.get("ack")
        if acked is not None:
            while unacked and unacked[0][0] <= acked:
                unacked.popleft()
        return answer

    def _check_experiment(self) -> None:
        """Raise when the dispatcher refused this trial or has been unreachable for
        LIVENESS_TIMEOUT (the experiment was killed, its machine died): nobody will answer,
        and a trial must not wait, or train, for nothing."""
        self._next_look = time.monotonic() + LIVENESS_INTERVAL
        lost_for = self._watch.lost_for()
        if self._watch.refused is not None:
            raise TrialError(f"trial {self.trial_job_id}: {self._watch.refused} at {self.address}")
        if lost_for >= LIVENESS_TIMEOUT:
            raise TrialError(
                f"trial {self.trial_job_id}: lost the experiment: no connection to its "
                f"dispatcher at {self.address} for {lost_for:.0f}s"
            )

    def _wait_for(self, req: int) -> dict:
        """The answer to request ``req`` (kept aside if it came while waiting for another)."""
        answer = self._answers.pop(req, None)
        while answer is None:
            received = self._receive(None)
            assert received is not None
            if received["kind"] == protocol.ACK:  # taken in by _receive
                continue
            if received.get("req") == req:
                answer = received
            elif received["kind"] in (protocol.PARAMETERS, protocol.NO_MORE_TRIALS):
                self._answers[received["req"]] = received
        if answer["kind"] == protocol.ERROR:
            raise TrialError(
                f"dispatcher refused request {req}: {answer['code']}: {answer['message']}"
            )
        return answer

    def _ask(self) -> int:
        req = self._req()
        self._send(protocol.new_trial(req, self.trial_job_id, self.parameter_index + 1))
        return req

    def _take(self, answer: dict) -> dict | None:
        if answer["kind"] == protocol.NO_MORE_TRIALS:
            return None
        self.parameter_id = answer["parameter_id"]
        self.parameter_index = answer["parameter_index"]
        self.parameters = answer["parameters"]
        self._sequence = 0
        self._reports = None
        return self.parameters

    def get_next_parameter(self) -> dict | None:
        return self._take(self._wait_for(self._ask()))

    def report_final_result_and_get_next(self, metric: Any) -> dict | None:
        """One frame: the final report asks for the next configuration too (``next_index``),
        and one answer (PARAMETERS or NO_MORE_TRIALS, carrying the ACK once the result is
        stored) comes back. A retry after a lost answer sends the same frame again: the
        dispatcher stores the result once and hands out the same configuration."""
        req = self._send_final(metric, self.parameter_index + 1)
        self._flush(FINAL_ACK_DEADLINE)
        return self._take(self._wait_for(req))

    def _current_parameter_id(self, what: str) -> int:
        if self.parameter_id is None:
            raise TrialError(
                f"{what} called before get_next_parameter(): there is no configuration to report on"
            )
        return self.parameter_id

    def report_intermediate_result(self, metric: Any) -> None:
        reports = self._reports
        if reports is None:
            parameter_id = self._current_parameter_id("report_intermediate_result")
            reports = protocol.ReportFrames(self.trial_job_id, parameter_id, protocol.PERIODICAL)
            self._reports = reports
        self._next_req += 1
        req = self._next_req
        frame = reports.frame(req, self._sequence, _wire_metric(metric))
        self._sock.send(frame, copy=len(frame) > 4096)
        self._unacked.append((req, frame))
        self._sequence += 1
        self._unchecked += 1
        if self._unchecked >= ANSWER_CHECK_EVERY:
            self._unchecked = 0
            while self._receive(0) is not None:  # collect answers already here, without waiting
                pass
            if time.monotonic() >= self._next_look:  # a trial that only reports learns it too
                self._check_experiment()

    def _send_final(self, metric: Any, next_index: int | None = None) -> int:
        parameter_id = self._current_parameter_id("report_final_result")
        value = _wire_metric(metric)
        req = self._req()
        frame = self._send(
            protocol.report_metric(
                req,
                self.trial_job_id,
                parameter_id,
                protocol.FINAL,
                0,
                value,
                next_index=next_index,
            )
        )
        self._unacked.append((req, frame))
        return req

    def report_final_result(self, metric: Any) -> None:
        self._send_final(metric)
        self._flush(FINAL_ACK_DEADLINE)

    def _flush(self, deadline_s: float) -> None:
        """Wait until every report is acknowledged, sending again those that time out
        (the dispatcher stores a repeated report once)."""
        deadline = time.monotonic() + deadline_s
        while self._unacked:
            if time.monotonic() > deadline:
                raise TrialError(
                    f"trial {self.trial_job_id}: dispatcher did not acknowledge {len(self._unacked)} "
                    f"report(s) within {deadline_s:.0f}s"
                )
            answer = self._receive(FINAL_ACK_TIMEOUT)
            if answer is None:
                for _, frame in list(self._unacked):
                    self._sock.send(frame)
            elif answer["kind"] != protocol.ACK and answer.get("req") is not None:
                self._answers[answer["req"]] = answer  # a request sent with the report

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._unacked:
                self._flush(FINAL_ACK_TIMEOUT)
        except TrialError as err:
            print(f"[asyncnni] {err}", file=sys.stderr)
        finally:
            self._watch.close()
            self._sock.close(linger=0)
            self._ctx.term()


class StandaloneTrial:
    """The API outside an experiment: parameters from --params / $ASYNCNNI_PARAMS, reports printed."""

    trial_job_id = STANDALONE

    def __init__(self) -> None:
        self.parameters: dict | None = None
        self.parameter_id: int | None = None

    @staticmethod
    def _given_parameters() -> dict:
        text = os.environ.get("ASYNCNNI_PARAMS")
        argv = sys.argv
        if "--params" in argv[:-1]:
            text = argv[argv.index("--params") + 1]
        if not text:
            return {}
        try:
            params = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"--params / ASYNCNNI_PARAMS is not valid JSON: {err}") from None
        if not isinstance(params, dict):
            raise ValueError("--params / ASYNCNNI_PARAMS must be a JSON object")
        return params

    def get_next_parameter(self) -> dict | None:
        if self.parameters is None:
            self.parameters = self._given_parameters()
            self.parameter_id = 0
        return self.parameters

    def report_intermediate_result(self, metric: Any) -> None:
        print(f"[asyncnni standalone] intermediate result: {_wire_metric(metric)}", flush=True)

    def report_final_result(self, metric: Any) -> None:
        print(f"[asyncnni standalone] final result: {_wire_metric(metric)}", flush=True)

    def report_final_result_and_get_next(self, metric: Any) -> dict | None:
        self.report_final_result(metric)
        return None  # one configuration outside an experiment: a loop over them ends

    def close(self) -> None:
        pass


_trial: TrialClient | StandaloneTrial | None = None


def _client() -> TrialClient | StandaloneTrial:
    global _trial
    if _trial is None:
        address = os.environ.get("ASYNCNNI_DISPATCHER")
        job = os.environ.get("ASYNCNNI_TRIAL_JOB_ID")
        if address and job:
            from .auth import client_from_env

            _trial = TrialClient(address, job, client_from_env(os.environ.get("ASYNCNNI_AUTH")))
        else:
            _trial = StandaloneTrial()
        atexit.register(_trial.close)
    return _trial


def get_next_parameter() -> dict | None:
    """The next configuration to try, or None when the experiment has no more for this job.

    Without multi-phase, calling it again returns the same configuration. With multi-phase
    (``multi_phase: true``) every call asks the tuner for a new one, and reports go to it.
    Blocks while the tuner decides (in asynchronous mode, e.g. until a parent trial finished)."""
    return _client().get_next_parameter()


def get_current_parameter(key: str | None = None) -> Any:
    """The configuration of the last get_next_parameter call (or one of its values)."""
    params = _client().parameters
    if key is None or params is None:
        return params
    return params[key]


def report_intermediate_result(metric: Any) -> None:
    """Report a per-step metric (a number, or a map with a number under "default").
    Returns without waiting; the dispatcher stores it and may hand it to the assessor."""
    _client().report_intermediate_result(metric)


def report_final_result(metric: Any) -> None:
    """Report the final metric of the current configuration; returns once it is stored."""
    _client().report_final_result(metric)


def report_final_result_and_get_next(metric: Any) -> dict | None:
    """``report_final_result(metric)`` then ``get_next_parameter()``, in one round trip to
    the dispatcher instead of two (for multi-phase workers that loop over configurations).

    Returns once the result is stored, with the next configuration, or None when the
    experiment has no more. The next request is sent with the report, so call it only when
    you will use the next configuration: the tuner is asked for it at once."""
    return _client().report_final_result_and_get_next(metric)


def get_trial_id() -> str:
    return os.environ.get("ASYNCNNI_TRIAL_JOB_ID", STANDALONE)


def get_experiment_id() -> str:
    return os.environ.get("ASYNCNNI_EXPERIMENT_ID", STANDALONE)


def get_sequence_id() -> int:
    """The order in which this trial job was started in its experiment (0 for the first)."""
    return int(os.environ.get("ASYNCNNI_TRIAL_SEQUENCE_ID", "0"))


# The async API: the same client, run in a worker thread so an event loop in the trial
# (an async data pipeline, say) keeps running while a call waits on the dispatcher.


async def aget_next_parameter() -> dict | None:
    """Awaitable :func:`get_next_parameter`."""
    import asyncio

    return await asyncio.to_thread(get_next_parameter)


async def areport_intermediate_result(metric: Any) -> None:
    """Awaitable :func:`report_intermediate_result`."""
    import asyncio

    await asyncio.to_thread(report_intermediate_result, metric)


async def areport_final_result(metric: Any) -> None:
    """Awaitable :func:`report_final_result` (returns once the result is stored)."""
    import asyncio

    await asyncio.to_thread(report_final_result, metric)


async def areport_final_result_and_get_next(metric: Any) -> dict | None:
    """Awaitable :func:`report_final_result_and_get_next`."""
    import asyncio

    return await asyncio.to_thread(report_final_result_and_get_next, metric)
