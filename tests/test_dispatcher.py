"""The dispatcher over real ZeroMQ sockets and a real SQLite store, driven by raw wire clients."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager

import anyio
import msgpack
import pytest
import zmq
import zmq.asyncio

from asyncnni import protocol
from asyncnni.dispatcher import Dispatcher
from asyncnni.errors import NoMoreTrials, UnknownParameterError
from asyncnni.store import StoreReader, open_reader, open_store
from asyncnni.store.records import WAIT_FOR_RESULT
from asyncnni.tuner import Tuner

pytestmark = pytest.mark.anyio


class CountingTuner(Tuner):
    """Hands out {"n": parameter_id}; records every call in order."""

    def __init__(self, limit: int | None = None) -> None:
        self.calls: list[tuple] = []
        self.limit = limit

    async def generate_parameters(self, parameter_id, **info):
        self.calls.append(("generate", parameter_id, info["trial_job_id"], info["parameter_index"]))
        if self.limit is not None and parameter_id >= self.limit:
            raise NoMoreTrials
        return {"n": parameter_id}

    async def receive_trial_result(self, parameter_id, parameters, value, **info):
        self.calls.append(("result", parameter_id, value, info["metric"]))

    async def trial_end(self, parameter_id, success, **info):
        self.calls.append(("end", parameter_id, success))


class Client:
    def __init__(self, ctx: zmq.asyncio.Context, address: str, identity: str) -> None:
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.IDENTITY, identity.encode())
        self.sock.connect(address)
        self.identity = identity

    async def send_raw(self, frame: bytes) -> None:
        await self.sock.send(frame)

    async def send(self, message: dict) -> None:
        await self.send_raw(protocol.encode(message))

    async def receive(self) -> dict:
        with anyio.fail_after(10):
            return protocol.decode(await self.sock.recv())

    async def ask(self, message: dict) -> dict:
        await self.send(message)
        return await self.receive()


@asynccontextmanager
async def running(tmp_path, tuner, jobs=("a", "b"), **options):
    store = open_store(tmp_path)
    dispatcher = Dispatcher(tuner, store, address=f"ipc://{tmp_path}/d.sock", **options)
    for job in jobs:
        dispatcher.register_job(job)
    ctx = zmq.asyncio.Context()
    async with anyio.create_task_group() as tg:
        address = await tg.start(dispatcher.serve)
        clients = {job: Client(ctx, address, job) for job in [*jobs, "stranger"]}
        clients["service"] = Client(ctx, address, dispatcher.service_identity.decode())
        try:
            yield dispatcher, clients
        finally:
            for client in clients.values():
                client.sock.close()
            ctx.term()
            tg.cancel_scope.cancel()
    store.close()


def stored(tmp_path) -> StoreReader:
    """What the store holds, read as every reader does (read-only, after the dispatcher)."""
    return open_reader(tmp_path)


def job_row(tmp_path, trial_job_id: str) -> dict:
    with stored(tmp_path) as store:
        return next(r for r in store.trial_rows() if r["trial_job_id"] == trial_job_id)


async def test_new_trial_gets_parameters_with_ids_from_zero(tmp_path):
    tuner = CountingTuner()
    async with running(tmp_path, tuner) as (_, c):
        first = await c["a"].ask(protocol.new_trial(1, "a", 0))
        second = await c["b"].ask(protocol.new_trial(9, "b", 0))
    assert (first["kind"], first["req"], first["parameter_id"], first["parameters"]) == (
        "PARAMETERS",
        1,
        0,
        {"n": 0},
    )
    assert (second["req"], second["parameter_id"]) == (9, 1)
    with stored(tmp_path) as store:
        given = sorted((r["parameter_id"], r["trial_job_id"]) for r in store.trial_rows())
    assert given == [(0, "a"), (1, "b")]


async def test_final_report_is_stored_acknowledged_and_reaches_the_tuner(tmp_path):
    tuner = CountingTuner()
    async with running(tmp_path, tuner) as (dispatcher, c):
        await c["a"].ask(protocol.new_trial(1, "a", 0))
        ack = await c["a"].ask(
            protocol.report_metric(2, "a", 0, "FINAL", 0, {"default": 0.5, "loss": 3})
        )
        outcome = await dispatcher.wait_for_result(0)
    assert ack == protocol.ack(2)
    assert (
        outcome.succeeded and outcome.value == 0.5 and outcome.metric == {"default": 0.5, "loss": 3}
    )
    assert ("result", 0, 0.5, {"default": 0.5, "loss": 3}) in tuner.calls
    with stored(tmp_path) as store:
        assert store.final_metric(0).value == 0.5 and store.intermediate_results(0) == []


async def test_repeated_reports_are_stored_once(tmp_path):
    tuner = CountingTuner()
    async with running(tmp_path, tuner) as (dispatcher, c):
        await c["a"].ask(protocol.new_trial(1, "a", 0))
        for req in (2, 3):  # a retry after a lost ACK carries a new req but the same key
            assert (await c["a"].ask(protocol.report_metric(req, "a", 0, "PERIODICAL", 0, 0.1)))[
                "kind"
            ] == "ACK"
            assert (await c["a"].ask(protocol.report_metric(req + 10, "a", 0, "FINAL", 0, 0.9)))[
                "kind"
            ] == "ACK"
        await dispatcher.wait_for_result(0)
        await c["a"].ask(
            protocol.new_trial(30, "a", 0)
        )  # a full round trip: queued tuner calls are done
    with stored(tmp_path) as store:
        assert store.final_metric(0).value == 0.9 and store.intermediate_results(0) == [0.1]
    assert [call for call in tuner.calls if call[0] == "result"] == [("result", 0, 0.9, 0.9)]


@pytest.mark.parametrize(
    "frame, code",
    [
        (b"\xc1garbage", protocol.E_DECODE),
        (msgpack.packb({"v": 1, "kind": "HELLO", "req": 3}), protocol.E_KIND),
        (msgpack.packb({"v": 1, "kind": "NEW_TRIAL", "req": 3}), protocol.E_FIELD),
        (protocol.encode(protocol.new_trial(3, "nobody", 0)), protocol.E_UNKNOWN_TRIAL),
        (
            protocol.encode(protocol.report_metric(3, "a", 77, "FINAL", 0, 1.0)),
            protocol.E_UNKNOWN_PARAMETER,
        ),
        (
            msgpack.packb(protocol.report_metric(3, "a", 0, "FINAL", 0, float("nan"))),
            protocol.E_FIELD,
        ),
        (protocol.encode(protocol.ack(3)), protocol.E_KIND),
    ],
)
async def test_bad_messages_get_an_error_and_everyone_else_is_still_served(tmp_path, frame, code):
    async with running(tmp_path, CountingTuner()) as (_, c):
        await c["a"].ask(protocol.new_trial(1, "a", 0))
        await c["a"].send_raw(frame)
        answer = await c["a"].receive()
        assert answer["kind"] == "ERROR" and answer["code"] == code and answer["message"]
        if code != protocol.E_DECODE:
            assert answer["req"] == 3
        assert (await c["b"].ask(protocol.new_trial(4, "b", 0)))["kind"] == "PARAMETERS"


async def test_a_parameter_of_another_job_is_refused(tmp_path):
    async with running(tmp_path, CountingTuner()) as (_, c):
        await c["a"].ask(protocol.new_trial(1, "a", 0))
        answer = await c["b"].ask(protocol.report_metric(2, "b", 0, "FINAL", 0, 1.0))
    assert (
        answer["code"] == protocol.E_UNKNOWN_PARAMETER
        and "'b' was not given parameter id 0" in answer["message"]
    )


async def test_without_multi_phase_a_second_ask_returns_the_same_parameters(tmp_path):
    tuner = CountingTuner()
    async with running(tmp_path, tuner) as (_, c):
        first = await c["a"].ask(protocol.new_trial(1, "a", 0))
        again = await c["a"].ask(protocol.new_trial(2, "a", 1))
    assert (
        again["parameter_id"] == first["parameter_id"] == 0
        and again["parameters"] == first["parameters"]
    )
    assert [call[0] for call in tuner.calls] == ["generate"]


async def test_multi_phase_gives_a_new_configuration_per_index(tmp_path):
    tuner = CountingTuner()
    async with running(tmp_path, tuner, multi_phase=True) as (_, c):
        answers = [await c["a"].ask(protocol.new_trial(i, "a", i)) for i in range(3)]
        repeat = await c["a"].ask(protocol.new_trial(9, "a", 1))
        skip = await c["a"].ask(protocol.new_trial(10, "a", 7))
    assert [(a["parameter_id"], a["parameter_index"]) for a in answers] == [(0, 0), (1, 1), (2, 2)]
    assert repeat["parameter_id"] == 1  # a repeated index is answered from memory
    assert skip["kind"] == "ERROR" and "skips ahead" in skip["message"]
    assert [call[1:] for call in tuner.calls] == [(0, "a", 0), (1, "a", 1), (2, "a", 2)]


async def test_no_more_trials_from_the_tuner_answers_everyone_after(tmp_path):
    tuner = CountingTuner(limit=1)
    async with running(tmp_path, tuner, multi_phase=True) as (dispatcher, c):
        assert (await c["a"].ask(protocol.new_trial(1, "a", 0)))["kind"] == "PARAMETERS"
        assert (await c["a"].ask(protocol.new_trial(2, "a", 1)))["kind"] == "NO_MORE_TRIALS"
        assert (await c["b"].ask(protocol.new_trial(3, "b", 0)))["kind"] == "NO_MORE_TRIALS"
        assert dispatcher.exhausted
    assert len([call for call in tuner.calls if call[0] == "generate"]) == 2


async def test_max_parameters_counts_configurations(tmp_path):
    async with running(tmp_path, CountingTuner(), multi_phase=True, max_configurations=3) as (_, c):
        kinds = [(await c["a"].ask(protocol.new_trial(i, "a", i)))["kind"] for i in range(4)]
    assert kinds == ["PARAMETERS"] * 3 + ["NO_MORE_TRIALS"]


async def test_job_end_fails_parameters_without_result_and_wakes_waiters(tmp_path):
    tuner = CountingTuner()
    async with running(tmp_path, tuner, multi_phase=True) as (dispatcher, c):
        await c["a"].ask(protocol.new_trial(1, "a", 0))
        await c["a"].ask(protocol.new_trial(2, "a", 1))
        await c["a"].ask(protocol.report_metric(3, "a", 1, "FINAL", 0, 2.0))
        dispatcher.job_ended("a", "FAILED", 3, "boom")
        first, second = await dispatcher.wait_for_result(0), await dispatcher.wait_for_result(1)
    assert not first.succeeded and "ended FAILED (exit code 3): boom" in first.reason
    assert second.succeeded and second.value == 2.0
    assert ("end", 0, False) in tuner.calls and ("end", 1, True) in tuner.calls
    assert tuner.calls.index(("result", 1, 2.0, 2.0)) < tuner.calls.index(("end", 1, True))
    row = job_row(tmp_path, "a")
    assert (row["status"], row["exit_code"], row["message"]) == ("FAILED", 3, "boom")


async def test_trial_end_over_the_wire_comes_from_the_training_service_only(tmp_path):
    tuner = CountingTuner()
    async with running(tmp_path, tuner) as (dispatcher, c):
        await c["a"].ask(protocol.new_trial(1, "a", 0))
        for peer in ("stranger", "a", "b"):  # a stranger, the trial itself, another trial
            refused = await c[peer].ask(protocol.trial_end("a", "SUCCEEDED", 0))
            assert refused["kind"] == "ERROR" and refused["code"] == protocol.E_NOT_ALLOWED
        assert "a" in dispatcher.ledger.jobs  # nothing changed
        await c["service"].send(protocol.trial_end("a", "SUCCEEDED", 0))
        outcome = await dispatcher.wait_for_result(0)
    assert not outcome.succeeded and "ended SUCCEEDED" in outcome.reason
    assert job_row(tmp_path, "a")["status"] == "SUCCEEDED"


async def test_a_peer_cannot_speak_for_another_trial_job(tmp_path):
    tuner = CountingTuner()
    async with running(tmp_path, tuner) as (dispatcher, c):
        given = await c["a"].ask(protocol.new_trial(1, "a", 0))
        forged = [
            await c[peer].ask(protocol.report_metric(2, "a", 0, kind, 0, 0.9))
            for peer in ("stranger", "b")
            for kind in ("PERIODICAL", "FINAL")
        ]
        asked = await c["stranger"].ask(protocol.new_trial(3, "a", 0))
        honest = await c["a"].ask(protocol.report_metric(4, "a", 0, "FINAL", 0, 0.1))
        outcome = await dispatcher.wait_for_result(0)
    assert given["kind"] == "PARAMETERS" and honest == protocol.ack(4)
    for answer in (*forged, asked):
        assert answer["kind"] == "ERROR" and answer["code"] == protocol.E_UNKNOWN_TRIAL
        assert "may not speak for trial job 'a'" in answer["message"]
    assert outcome.value == 0.1  # the forged 0.9 never reached the tuner or the store
    with stored(tmp_path) as store:
        assert store.final_metric(0).value == 0.1 and store.intermediate_results(0) == []
    assert [call[0] for call in tuner.calls] == ["generate", "result"]


async def test_wait_for_an_unknown_parameter_raises_at_once(tmp_path):
    async with running(tmp_path, CountingTuner()) as (dispatcher, _):
        with pytest.raises(UnknownParameterError, match="parameter id 5 was never handed out"):
            await dispatcher.wait_for_result(5)


class SlowThreadTuner:
    """A plain-def (NNI-style) tuner that blocks its worker thread until released."""

    def __init__(self) -> None:
        import threading

        self.release = threading.Event()

    def update_search_space(self, search_space):
        pass

    def generate_parameters(self, parameter_id, **kwargs):
        self.release.wait(10)
        return {"n": parameter_id}


async def test_reports_are_acknowledged_while_a_plain_tuner_thinks(tmp_path):
    tuner = SlowThreadTuner()
    async with running(tmp_path, CountingTuner()) as (dispatcher, c):
        await c["a"].ask(protocol.new_trial(1, "a", 0))
        dispatcher.tuner = type(dispatcher.tuner)(tuner)  # swap in the blocking tuner
        await c["b"].send(protocol.new_trial(2, "b", 0))  # its generate blocks a worker thread
        ack = await c["a"].ask(protocol.report_metric(3, "a", 0, "PERIODICAL", 0, 0.5))
        assert ack["kind"] == "ACK"
        tuner.release.set()
        assert (await c["b"].receive())["parameters"] == {"n": 1}


class ParentChildTuner(Tuner):
    """Odd parameter ids wait for the result of the id before them."""

    def __init__(self) -> None:
        self.outcomes = {}

    async def generate_parameters(self, parameter_id, **info):
        if parameter_id % 2:
            self.outcomes[parameter_id] = await self.wait_for_result(parameter_id - 1)
        return {"n": parameter_id}


async def test_async_mode_answers_others_while_a_child_waits(tmp_path):
    tuner = ParentChildTuner()
    async with running(tmp_path, tuner, jobs=("p", "c", "x"), async_mode=True) as (dispatcher, c):
        await c["p"].ask(protocol.new_trial(1, "p", 0))  # id 0: the parent
        await c["c"].send(protocol.new_trial(2, "c", 0))  # id 1: waits on 0
        other = await c["x"].ask(protocol.new_trial(3, "x", 0))  # id 2: answered meanwhile
        assert other["parameter_id"] == 2 and dispatcher.waiting_on == {"c": 0}
        await c["p"].ask(protocol.report_metric(4, "p", 0, "FINAL", 0, 0.75))
        child = await c["c"].receive()
        links = [
            (e["trial_job_id"], json.loads(e["detail"]))
            for e in dispatcher.store.events()
            if e["kind"] == WAIT_FOR_RESULT
        ]
    assert child["parameter_id"] == 1 and tuner.outcomes[1].value == 0.75
    assert dispatcher.waiting_on == {}
    # the store keeps who waited on whom (the dashboard's lineage, live and afterwards)
    assert links == [("c", {"parameter_id": 1, "parent_id": 0, "waits": True})]


async def test_serial_mode_refuses_a_wait_that_would_never_end(tmp_path):
    tuner = ParentChildTuner()
    async with running(tmp_path, tuner, jobs=("p", "c")) as (_, c):
        await c["p"].ask(protocol.new_trial(1, "p", 0))  # id 0: the parent, still running
        answer = await c["c"].ask(protocol.new_trial(2, "c", 0))  # id 1 would wait on 0
    assert answer["kind"] == "ERROR" and "async_dispatcher: true" in answer["message"]


async def test_serial_mode_keeps_arrival_order(tmp_path):
    tuner = CountingTuner()
    jobs = tuple(f"j{i}" for i in range(8))
    async with running(tmp_path, tuner, jobs=jobs) as (dispatcher, c):
        for i, job in enumerate(jobs):
            await c[job].send(protocol.new_trial(i, job, 0))
            # the next is sent once the dispatcher has taken this one: a fixed arrival order
            with anyio.fail_after(10):
                while dispatcher.ledger.next_parameter_id <= i:
                    await anyio.sleep(0)
        answers = {job: await c[job].receive() for job in jobs}
    assert [answers[job]["parameter_id"] for job in jobs] == list(range(8))
    assert [call[2] for call in tuner.calls] == list(jobs)


class StoreReadingTuner(CountingTuner):
    """Reads, in receive_trial_result, what another connection sees of the result."""

    def __init__(self, folder) -> None:
        super().__init__()
        self.folder = folder
        self.seen: list = []

    async def receive_trial_result(self, parameter_id, parameters, value, **info):
        with open_reader(self.folder) as store:
            self.seen.append(store.final_metric(parameter_id))


async def test_a_final_result_is_committed_before_the_tuner_hears_of_it(tmp_path):
    tuner = StoreReadingTuner(tmp_path)
    async with running(tmp_path, tuner, multi_phase=True) as (_, c):
        await c["a"].ask(protocol.new_trial(1, "a", 0))
        # the final report that asks for the next configuration, as the combined call sends it
        answer = await c["a"].ask(protocol.report_metric(2, "a", 0, "FINAL", 0, 0.25, next_index=1))
    assert (answer["kind"], answer["req"], answer["ack"]) == ("PARAMETERS", 2, 2)
    assert [metric.value for metric in tuner.seen] == [0.25]


class ThreadedAsyncTuner(CountingTuner):
    """An async tuner that thinks in a worker thread under a cancel scope, as the built-in
    model-based tuners do."""

    async def generate_parameters(self, parameter_id, **info):
        with anyio.CancelScope():
            await anyio.to_thread.run_sync(lambda: None)
        return await super().generate_parameters(parameter_id, **info)


async def test_an_async_tuner_that_waits_keeps_the_serial_order(tmp_path):
    tuner = ThreadedAsyncTuner()
    async with running(tmp_path, tuner, multi_phase=True) as (_, c):
        await c["a"].ask(protocol.new_trial(1, "a", 0))
        await c["a"].send(protocol.report_metric(2, "a", 0, "FINAL", 0, 0.5))
        await c["a"].send(protocol.new_trial(3, "a", 1))
        await c["b"].send(protocol.new_trial(4, "b", 0))
        answers = [await c["a"].receive(), await c["a"].receive(), await c["b"].receive()]
    assert sorted(a["kind"] for a in answers) == ["ACK", "PARAMETERS", "PARAMETERS"]
    assert [call[:2] for call in tuner.calls] == [
        ("generate", 0),
        ("result", 0),
        ("generate", 1),
        ("generate", 2),
    ]


async def test_reports_in_the_hot_path_are_refused_as_any_once_their_set_is_gone(tmp_path):
    # frames as the trial client packs them: the dispatcher decodes them by their tail
    frames = protocol.ReportFrames("a", 0, "PERIODICAL")
    async with running(tmp_path, CountingTuner(), multi_phase=True) as (dispatcher, c):
        await c["a"].ask(protocol.new_trial(1, "a", 0))
        for req in (2, 3):
            await c["a"].send_raw(frames.frame(req, req - 2, 0.5))
        assert await c["a"].receive() in (protocol.ack(2), protocol.ack(3))
        await c["a"].ask(protocol.report_metric(4, "a", 0, "FINAL", 0, 0.75))
        await c["a"].ask(protocol.new_trial(5, "a", 1))  # set 0 is done and left behind
        await c["a"].send_raw(frames.frame(6, 2, 0.5))
        late = await c["a"].receive()
        assert (late["kind"], late["code"], late["req"]) == ("ERROR", "UNKNOWN_PARAMETER", 6)
        dispatcher.job_ended("a", "SUCCEEDED", 0)
        await c["a"].send_raw(protocol.ReportFrames("a", 1, "PERIODICAL").frame(7, 0, 0.5))
        ended = await c["a"].receive()
        assert (ended["code"], ended["req"]) == ("UNKNOWN_TRIAL", 7)
    with stored(tmp_path) as store:
        assert store.intermediate_results(0) == [0.5, 0.5]


class FailingTuner(Tuner):
    async def generate_parameters(self, parameter_id, **info):
        raise RuntimeError("no idea")


async def test_a_failing_tuner_answers_error_and_reports_fatal(tmp_path):
    fatal = []
    async with running(tmp_path, FailingTuner(), on_fatal=fatal.append) as (dispatcher, c):
        answer = await c["a"].ask(protocol.new_trial(1, "a", 0))
        after = await c["b"].ask(protocol.new_trial(2, "b", 0))
    assert (
        answer["code"] == protocol.E_TUNER
        and "FailingTuner.generate_parameters(0) failed: RuntimeError: no idea" in answer["message"]
    )
    assert fatal and after["kind"] == "NO_MORE_TRIALS" and dispatcher.exhausted


class OrderTuner(Tuner):
    """Slow to take results: without the per-job order a job's next request would overtake them."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    async def generate_parameters(self, parameter_id, **info):
        self.calls.append(("generate", parameter_id))
        return {"n": parameter_id}

    async def receive_trial_result(self, parameter_id, parameters, value, **info):
        await anyio.sleep(0.05)  # a tuner that thinks about each result
        self.calls.append(("result", parameter_id))


async def test_async_mode_keeps_a_jobs_result_before_its_next_request(tmp_path):
    tuner = OrderTuner()
    async with running(tmp_path, tuner, multi_phase=True, async_mode=True) as (_, c):
        for i in range(3):
            answer = await c["a"].ask(protocol.new_trial(2 * i, "a", i))
            await c["a"].ask(
                protocol.report_metric(2 * i + 1, "a", answer["parameter_id"], "FINAL", 0, 1.0)
            )
        await c["a"].ask(protocol.new_trial(9, "a", 3))
    assert tuner.calls == [
        ("generate", 0),
        ("result", 0),
        ("generate", 1),
        ("result", 1),
        ("generate", 2),
        ("result", 2),
        ("generate", 3),
    ]


class NumpyTuner(Tuner):
    """Returns numpy values, as NNI-style tuners often do; one id gets something unsendable."""

    async def generate_parameters(self, parameter_id, **info):
        import numpy as np

        if parameter_id == 1:
            return {"when": object()}
        return {"x": np.float32(0.5), "n": np.int64(3), "v": np.arange(2)}


async def test_numpy_parameters_are_sent_and_stored_as_plain_values(tmp_path):
    fatal = []
    async with running(tmp_path, NumpyTuner(), on_fatal=fatal.append) as (_, c):
        answer = await c["a"].ask(protocol.new_trial(1, "a", 0))
        refused = await c["b"].ask(protocol.new_trial(2, "b", 0))
    assert answer["parameters"] == {"x": 0.5, "n": 3, "v": [0, 1]}
    with stored(tmp_path) as store:
        assert [r["parameters"] for r in store.trial_rows() if r["parameter_id"] is not None] == [
            {"x": 0.5, "n": 3, "v": [0, 1]}
        ]
    assert refused["code"] == protocol.E_TUNER
    assert (
        "NumpyTuner.generate_parameters(1) failed: TypeError: object cannot be sent or stored"
        in refused["message"]
    )
    assert fatal, "the experiment ends with the tuner's error instead of crashing"
