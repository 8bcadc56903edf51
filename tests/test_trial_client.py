"""The trial client (what trial code calls) against a real dispatcher: cumulative ACKs,
retries after a lost ACK or a lost answer, the final report that asks for the next
configuration, and version-1 and version-2 peers."""

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
    """A client socket whose first ``lose`` answers of ``kind`` never arrive (as if lost on
    the way)."""

    def __init__(self, sock: zmq.Socket, lose: int, kind: str = protocol.ACK) -> None:
        self._sock, self.lose, self.lost, self.kind = sock, lose, 0, kind

    def recv(self, flags: int = 0):
        while True:
            frame = self._sock.recv(flags)
            if self.lost < self.lose and protocol.decode(frame)["kind"] == self.kind:
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


@pytest.mark.parametrize("version", [2, 3])
async def test_one_cumulative_ack_confirms_every_report_before_it(tmp_path, version):
    async with running(tmp_path, CountingTuner()) as (_, c):
        await c["a"].ask(protocol.new_trial(1, "a", 0, v=version))
        for req in range(2, 12):
            await c["a"].send(
                protocol.report_metric(req, "a", 0, "PERIODICAL", req, 0.5, v=version)
            )
        await c["a"].send(protocol.report_metric(12, "a", 0, "FINAL", 0, 0.9, v=version))
        acks = []
        while not acks or acks[-1] < 12:  # the dispatcher may have cut them in bursts
            answer = await c["a"].receive()
            assert answer["kind"] == "ACK" and answer["v"] == version
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


class CountingFrames:
    """A client socket that counts the frames it sends and receives."""

    def __init__(self, sock: zmq.Socket) -> None:
        self._sock, self.sent, self.received = sock, 0, 0

    def send(self, frame, *args, **kwargs):
        self.sent += 1
        return self._sock.send(frame, *args, **kwargs)

    def recv(self, flags: int = 0):
        frame = self._sock.recv(flags)
        self.received += 1
        return frame

    def __getattr__(self, name):
        return getattr(self._sock, name)


async def test_a_configuration_of_the_combined_call_is_one_frame_each_way(tmp_path):
    async with running(tmp_path, CountingTuner(limit=5), jobs=(), multi_phase=True) as (d, _):
        client = worker(d)
        try:
            await in_thread(client.get_next_parameter)
            client._sock = frames = CountingFrames(client._sock)
            for n in (1, 2, 3):
                assert await in_thread(client.report_final_result_and_get_next, 0.5) == {"n": n}
            assert not client._unacked, "each returned once its result was stored"
        finally:
            client.close()
    assert (frames.sent, frames.received) == (3, 3)
    with stored(tmp_path) as store:
        assert [store.final_metric(pid).value for pid in range(3)] == [0.5] * 3


async def test_a_retried_combined_call_after_a_lost_answer_stores_once_and_hands_out_one(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(trial, "FINAL_ACK_TIMEOUT", 0.3)
    tuner = CountingTuner()
    async with running(tmp_path, tuner, jobs=(), multi_phase=True) as (dispatcher, _):
        client = worker(dispatcher)
        try:
            assert await in_thread(client.get_next_parameter) == {"n": 0}
            # the answer that confirms the result and hands out {"n": 1} is lost: the frame
            # is sent again, after the tuner has heard the result and the job moved on
            client._sock = LosingSocket(client._sock, lose=1, kind=protocol.PARAMETERS)
            assert await in_thread(client.report_final_result_and_get_next, 7.0) == {"n": 1}
            assert client._sock.lost == 1 and not client._unacked
            assert await in_thread(client.report_final_result_and_get_next, 8.0) == {"n": 2}
        finally:
            client.close()
    assert [call for call in tuner.calls if call[0] == "result"] == [
        ("result", 0, 7.0, 7.0),
        ("result", 1, 8.0, 8.0),
    ]
    assert [call[1] for call in tuner.calls if call[0] == "generate"] == [0, 1, 2]
    with stored(tmp_path) as store:
        assert store.final_metric(0).value == 7.0 and store.final_metric(1).value == 8.0
        given = sorted(
            (r["parameter_index"], r["parameter_id"])
            for r in store.trial_rows()
            if r["parameter_id"] is not None
        )
    assert given == [(0, 0), (1, 1), (2, 2)]


async def test_a_version_2_peer_asks_with_its_final_report_in_two_frames(tmp_path):
    # what a version-2 client sends: the FINAL report, the next NEW_TRIAL right behind it;
    # its answers stay in version 2: an ACK of its own and PARAMETERS without one
    tuner = CountingTuner()
    async with running(tmp_path, tuner, multi_phase=True) as (_, c):
        first = await c["a"].ask(protocol.new_trial(1, "a", 0, v=2))
        await c["a"].send(protocol.report_metric(2, "a", 0, "FINAL", 0, 0.5, v=2))
        await c["a"].send(protocol.new_trial(3, "a", 1, v=2))
        answers = sorted([await c["a"].receive(), await c["a"].receive()], key=lambda a: a["req"])
    assert first["v"] == 2 and "ack" not in first
    assert answers == [
        protocol.ack(2, v=2),
        protocol.parameters(3, 1, 1, {"n": 1}, "algorithm", v=2),
    ]
    assert [call[:2] for call in tuner.calls] == [("generate", 0), ("result", 0), ("generate", 1)]


async def test_a_version_3_final_report_on_a_set_not_given_asks_for_nothing(tmp_path):
    tuner = CountingTuner()
    async with running(tmp_path, tuner, multi_phase=True) as (_, c):
        await c["a"].ask(protocol.new_trial(1, "a", 0))
        refused = await c["a"].ask(protocol.report_metric(2, "a", 5, "FINAL", 0, 0.5, next_index=1))
        again = await c["a"].ask(protocol.report_metric(3, "a", 0, "FINAL", 0, 0.5, next_index=1))
    assert (refused["kind"], refused["req"], refused["code"]) == (
        "ERROR",
        2,
        protocol.E_UNKNOWN_PARAMETER,
    )
    assert (again["kind"], again["req"], again["ack"], again["parameter_index"]) == (
        "PARAMETERS",
        3,
        3,
        1,
    )
    assert [call[1] for call in tuner.calls if call[0] == "generate"] == [0, 1]


def test_standalone_the_final_report_ends_a_loop_over_configurations(monkeypatch, capsys):
    standalone = trial.StandaloneTrial()
    assert standalone.get_next_parameter() == {}
    assert standalone.report_final_result_and_get_next(0.5) is None
    assert "final result: 0.5" in capsys.readouterr().out


async def test_an_unknown_version_or_a_newer_field_is_refused_and_the_peer_still_served(tmp_path):
    tuner = CountingTuner()
    async with running(tmp_path, tuner, multi_phase=True) as (_, c):
        newer = protocol.new_trial(1, "a", 0)
        newer["v"] = 4
        unknown = await c["a"].ask(newer)
        given = await c["a"].ask(protocol.new_trial(2, "a", 0, v=2))
        # a version-2 final report cannot ask for the next configuration: that is version 3's
        refused = await c["a"].ask(
            protocol.report_metric(3, "a", 0, "FINAL", 0, 0.5, v=2, next_index=1)
        )
    assert (unknown["v"], unknown["kind"], unknown["code"], unknown["req"]) == (
        1,
        "ERROR",
        protocol.E_VERSION,
        1,
    )
    assert "speaks versions 1, 2, 3" in unknown["message"]
    assert (given["v"], given["kind"], given["parameter_id"]) == (2, "PARAMETERS", 0)
    assert (refused["v"], refused["code"]) == (2, protocol.E_FIELD)
    assert "'next_index' is version 3's" in refused["message"]
    assert [call[:2] for call in tuner.calls] == [("generate", 0)]
