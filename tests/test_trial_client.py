"""The trial client (what trial code calls) against a real dispatcher: cumulative ACKs,
retries after a lost ACK, the final report sent with the next request, version-1 peers."""

from __future__ import annotations

import anyio
import anyio.to_thread
import pytest
import zmq

from asyncnni import protocol, trial
from asyncnni.trial import TrialClient

from .test_dispatcher import CountingTuner, running, stored

pytestmark = pytest.mark.anyio


class LosingSocket:
    """A client socket whose first ``lose`` ACKs never arrive (as if lost on the way)."""

    def __init__(self, sock: zmq.Socket, lose: int) -> None:
        self._sock, self.lose, self.lost = sock, lose, 0

    def recv(self, flags: int = 0):
        while True:
            frame = self._sock.recv(flags)
            if self.lost < self.lose and protocol.decode(frame)["kind"] == protocol.ACK:
                self.lost += 1
                continue
            return frame

    def __getattr__(self, name):
        return getattr(self._sock, name)


def worker(dispatcher) -> TrialClient:
    """A trial client of a job of its own (the fixture's raw clients hold the other ids:
    two sockets of one identity would race for its answers)."""
    dispatcher.register_job("w1")
    return TrialClient(dispatcher.address, "w1")


async def in_thread(fn, *args):
    return await anyio.to_thread.run_sync(fn, *args)


async def test_a_retried_report_after_a_lost_ack_is_stored_once(tmp_path, monkeypatch):
    monkeypatch.setattr(trial, "FINAL_ACK_TIMEOUT", 0.3)
    async with running(tmp_path, CountingTuner(), jobs=()) as (dispatcher, _):
        client = worker(dispatcher)
        try:
            client._sock = LosingSocket(client._sock, lose=1)
            assert await in_thread(client.get_next_parameter) == {"n": 0}
            for step in range(200):
                await in_thread(client.report_intermediate_result, float(step))
            await in_thread(client.report_final_result, 7.0)
            assert client._sock.lost == 1 and not client._unacked
        finally:
            client.close()
    with stored(tmp_path) as store:
        # in sequence order, each once (the value of a report is its sequence number)
        assert store.intermediate_results(0) == [float(s) for s in range(200)]
        assert store.final_metric(0).value == 7.0


async def test_one_cumulative_ack_confirms_every_report_before_it(tmp_path):
    async with running(tmp_path, CountingTuner()) as (_, c):
        await c["a"].ask(protocol.new_trial(1, "a", 0))
        for req in range(2, 12):
            await c["a"].send(protocol.report_metric(req, "a", 0, "PERIODICAL", req, 0.5))
        await c["a"].send(protocol.report_metric(12, "a", 0, "FINAL", 0, 0.9))
        acks = []
        while not acks or acks[-1] < 12:  # the dispatcher may have cut them in bursts
            answer = await c["a"].receive()
            assert answer["kind"] == "ACK" and answer["v"] == 2
            acks.append(answer["req"])
    assert acks == sorted(acks) and len(acks) <= 11
    with stored(tmp_path) as store:
        assert len(store.intermediate_results(0)) == 10 and store.final_metric(0).value == 0.9


async def test_a_version_1_peer_gets_one_ack_per_report_in_version_1(tmp_path):
    async with running(tmp_path, CountingTuner()) as (_, c):
        given = await c["a"].ask(protocol.new_trial(1, "a", 0, v=1))
        assert given["v"] == 1 and given["kind"] == "PARAMETERS"
        for req in (2, 3, 4):
            await c["a"].send(protocol.report_metric(req, "a", 0, "PERIODICAL", req, 0.5, v=1))
        answers = [await c["a"].receive() for _ in range(3)]
        refused = await c["a"].ask(protocol.report_metric(5, "a", 99, "FINAL", 0, 0.5, v=1))
    assert answers == [protocol.ack(req, v=1) for req in (2, 3, 4)]
    assert refused["v"] == 1 and refused["code"] == protocol.E_UNKNOWN_PARAMETER


async def test_the_final_report_and_the_next_request_travel_together(tmp_path):
    tuner = CountingTuner(limit=3)
    async with running(tmp_path, tuner, jobs=(), multi_phase=True) as (dispatcher, _):
        client = worker(dispatcher)
        try:
            seen = [await in_thread(client.get_next_parameter)]
            while seen[-1] is not None:
                seen.append(await in_thread(client.report_final_result_and_get_next, 0.5))
            assert not client._unacked, "returns once the result is stored"
        finally:
            client.close()
    assert seen == [{"n": 0}, {"n": 1}, {"n": 2}, None]
    order = [call[:2] for call in tuner.calls if call[0] in ("generate", "result")]
    # serial mode: the tuner hears each result before it is asked for the next one
    assert order == [
        ("generate", 0),
        ("result", 0),
        ("generate", 1),
        ("result", 1),
        ("generate", 2),
        ("result", 2),
        ("generate", 3),
    ]
    with stored(tmp_path) as store:
        finals = [store.final_metric(pid) for pid in range(4)]
    assert [f.parameter_id for f in finals if f is not None] == [0, 1, 2]


def test_standalone_the_final_report_ends_a_loop_over_configurations(monkeypatch, capsys):
    standalone = trial.StandaloneTrial()
    assert standalone.get_next_parameter() == {}
    assert standalone.report_final_result_and_get_next(0.5) is None
    assert "final result: 0.5" in capsys.readouterr().out
