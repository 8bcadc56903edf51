"""The wire protocol: round trips of every message (version 3's optional fields included),
every malformed message refused with a clear ProtocolError, the fast path against the full
checks, and the client's bookkeeping of cumulative ACKs."""

import math

import msgpack
import pytest
import zmq
from hypothesis import given
from hypothesis import strategies as st

from asyncnni import protocol, trial
from asyncnni.errors import ProtocolError

ids = st.text(min_size=1, max_size=20)
counts = st.integers(min_value=0, max_value=2**31)
finite = st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | finite | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
metric_values = finite | st.fixed_dictionaries(
    {"default": finite}, optional={"loss": finite, "note": st.text(max_size=8)}
)

parameter_answers = st.builds(
    protocol.parameters,
    counts,
    counts,
    counts,
    st.dictionaries(st.text(max_size=8), json_values),
    st.text(max_size=10),
)

messages = st.one_of(
    st.builds(protocol.new_trial, counts, ids, counts),
    parameter_answers,
    st.builds(protocol.no_more_trials, counts),
    st.builds(
        protocol.report_metric,
        counts,
        ids,
        counts,
        st.sampled_from(["PERIODICAL", "FINAL"]),
        counts,
        metric_values,
    ),
    # version 3: a final report that asks for the next configuration, answers with an ACK
    st.builds(
        protocol.report_metric,
        counts,
        ids,
        counts,
        st.just("FINAL"),
        counts,
        metric_values,
        next_index=counts,
    ),
    st.builds(
        protocol.with_ack, parameter_answers | st.builds(protocol.no_more_trials, counts), counts
    ),
    st.builds(protocol.ack, counts),
    st.builds(
        protocol.trial_end,
        ids,
        st.sampled_from(sorted(protocol.TRIAL_END_EVENTS)),
        st.none() | st.integers(-255, 255),
    ),
    st.builds(protocol.kill_trial, ids, st.text(max_size=20)),
    st.builds(protocol.error, st.text(max_size=10), st.text(max_size=30), st.none() | counts),
)


OPTIONAL = ("next_index", "ack")  # version 3's fields, in the messages that may carry them


@given(messages)
def test_every_message_round_trips(message):
    assert protocol.decode(protocol.encode(message)) == message


@given(st.binary(max_size=64))
def test_garbage_bytes_raise_protocol_error_or_decode_to_a_valid_message(data):
    try:
        message = protocol.decode(data)
    except ProtocolError as err:
        assert err.code in {
            protocol.E_DECODE,
            protocol.E_VERSION,
            protocol.E_KIND,
            protocol.E_FIELD,
        }
        assert str(err)
    else:  # astronomically unlikely, but then it must really be valid
        protocol.validate(message)


@given(messages, st.data())
def test_a_missing_field_is_named(message, data):
    required = [
        name
        for name in message
        if name not in ("v", "kind", *OPTIONAL)
        and not (name == "req" and message["kind"] == "ERROR")
    ]
    if not required:
        return
    name = data.draw(st.sampled_from(required))
    del message[name]
    with pytest.raises(ProtocolError, match=f"missing field '{name}'") as err:
        protocol.decode(msgpack.packb(message))
    assert err.value.code == protocol.E_FIELD


@pytest.mark.parametrize(
    "message, code, words",
    [
        ([1, 2, 3], protocol.E_DECODE, "must be a map"),
        ({"kind": "ACK", "req": 1}, protocol.E_VERSION, "version None"),
        ({"v": 4, "kind": "ACK", "req": 1}, protocol.E_VERSION, "version 4"),
        (protocol.new_trial(1, "a", 0, v=True), protocol.E_VERSION, "version True"),
        ({"v": 1, "kind": "HELLO"}, protocol.E_KIND, "unknown message kind 'HELLO'"),
        ({"v": 1}, protocol.E_KIND, "unknown message kind None"),
        (
            {"v": 1, "kind": "NEW_TRIAL", "req": -1, "trial_job_id": "a", "parameter_index": 0},
            protocol.E_FIELD,
            "'req'",
        ),
        (
            {"v": 1, "kind": "NEW_TRIAL", "req": 1, "trial_job_id": 5, "parameter_index": 0},
            protocol.E_FIELD,
            "'trial_job_id' must be a string",
        ),
        (
            {"v": 1, "kind": "NEW_TRIAL", "req": 1, "trial_job_id": "", "parameter_index": 0},
            protocol.E_FIELD,
            "must not be empty",
        ),
        (
            {"v": 1, "kind": "NEW_TRIAL", "req": True, "trial_job_id": "a", "parameter_index": 0},
            protocol.E_FIELD,
            "'req'",
        ),
        (
            protocol.report_metric(1, "a", 0, "SOMETIMES", 0, 1.0),
            protocol.E_FIELD,
            "PERIODICAL or FINAL",
        ),
        (protocol.report_metric(1, "a", 0, "FINAL", 0, "high"), protocol.E_FIELD, "a number"),
        (
            protocol.report_metric(1, "a", 0, "FINAL", 0, {"loss": 1.0}),
            protocol.E_FIELD,
            "under 'default'",
        ),
        (protocol.report_metric(1, "a", 0, "FINAL", 0, True), protocol.E_FIELD, "a number"),
        (protocol.trial_end("a", "EXPLODED", 1), protocol.E_FIELD, "'event'"),
        (
            protocol.report_metric(1, "a", 0, "PERIODICAL", 0, 1.0, next_index=1),
            protocol.E_FIELD,
            "only a FINAL report has 'next_index'",
        ),
        (
            protocol.report_metric(1, "a", 0, "FINAL", 0, 1.0, v=2, next_index=1),
            protocol.E_FIELD,
            "field 'next_index' is version 3's, not 2's",
        ),
        (
            protocol.report_metric(1, "a", 0, "FINAL", 0, 1.0, next_index=-1),
            protocol.E_FIELD,
            "'next_index' must be a non-negative integer",
        ),
        (
            protocol.with_ack(protocol.parameters(1, 0, 0, {}, "x", v=1), 1),
            protocol.E_FIELD,
            "field 'ack' is version 3's, not 1's",
        ),
        (
            protocol.with_ack(protocol.no_more_trials(1), True),
            protocol.E_FIELD,
            "'ack' must be a non-negative integer",
        ),
    ],
)
def test_malformed_messages_are_refused_with_a_clear_message(message, code, words):
    with pytest.raises(ProtocolError) as err:
        protocol.decode(msgpack.packb(message))
    assert err.value.code == code
    assert words in str(err.value)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("wrap", [lambda v: v, lambda v: {"default": v}])
def test_non_finite_metrics_are_refused(bad, wrap):
    with pytest.raises(ProtocolError, match="finite"):
        protocol.decode(protocol.encode(protocol.report_metric(1, "a", 0, "FINAL", 0, wrap(bad))))


def test_map_keys_must_be_strings():
    with pytest.raises(ProtocolError) as err:
        protocol.decode(msgpack.packb({1: 2}))
    assert err.value.code == protocol.E_DECODE


def test_request_id_is_recovered_from_an_invalid_message_when_present():
    assert protocol.request_id(msgpack.packb({"v": 1, "kind": "NEW_TRIAL", "req": 7})) == 7
    assert protocol.request_id(b"\xc1") is None


field_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(),
    st.text(max_size=3),
    st.just({"default": 1.0}),
)


@given(messages, st.data())
def test_the_fast_path_accepts_nothing_the_full_checks_refuse(message, data):
    # mutate one field (or none) to anything, then compare the two paths
    if data.draw(st.booleans()):
        name = data.draw(st.sampled_from(sorted({*message, *OPTIONAL})))
        message[name] = data.draw(field_values | counts)
    if protocol._fast_valid(message):
        protocol.check_fields(message)  # must not raise


@given(ids, counts, st.sampled_from(["PERIODICAL", "FINAL"]), counts, counts, metric_values)
def test_a_report_frame_is_the_report_message_packed(job, parameter_id, type_, req, seq, value):
    frame = protocol.ReportFrames(job, parameter_id, type_).frame(req, seq, value)
    assert protocol.decode(frame) == protocol.report_metric(
        req, job, parameter_id, type_, seq, value
    )


@given(messages, st.sampled_from(protocol.ACCEPTED_VERSIONS))
def test_every_version_decodes_and_answers_keep_the_version(message, version):
    message["v"] = version
    frame = protocol.encode(message)
    assert protocol.answer_version(frame) == version
    newer = [name for name in OPTIONAL if name in message]
    if version < 3 and newer:  # a field an older version does not have is refused, named
        with pytest.raises(ProtocolError, match=f"'{newer[0]}' is version 3's") as err:
            protocol.decode(frame)
        assert err.value.code == protocol.E_FIELD
    else:
        assert protocol.decode(frame)["v"] == version


@given(st.integers(4, 2**63) | st.integers(-(2**63), 0) | st.none() | st.text(max_size=3))
def test_an_unknown_version_is_refused_and_answered_in_version_1(version):
    frame = msgpack.packb({"v": version, "kind": "ACK", "req": 1})
    with pytest.raises(ProtocolError) as err:
        protocol.decode(frame)
    assert err.value.code == protocol.E_VERSION and "speaks versions 1, 2, 3" in str(err.value)
    assert protocol.answer_version(frame) == 1


def _client_receiving(answer: dict, reqs: list[int]) -> trial.TrialClient:
    """A client whose unacknowledged reports are ``reqs`` and whose socket holds ``answer``."""
    client = trial.TrialClient.__new__(trial.TrialClient)
    client._unacked = trial.deque((req, b"") for req in sorted(set(reqs)))
    client._sock = _OneFrame(protocol.encode(answer))
    client._noblock, client._again = 0, zmq.Again
    return client


reports = st.lists(st.integers(min_value=1, max_value=40), max_size=30)
answers_with_ack = st.one_of(
    st.builds(protocol.ack, counts),
    st.builds(
        protocol.with_ack,
        st.builds(protocol.parameters, counts, counts, counts, st.just({}), ids),
        counts,
    ),
    st.builds(protocol.with_ack, st.builds(protocol.no_more_trials, counts), counts),
)


@given(reports, answers_with_ack)
def test_a_cumulative_ack_settles_every_report_up_to_its_request(reqs, answer):
    # the client's bookkeeping: reports in request order, one ACK (a frame of its own, or
    # riding on a version-3 answer) settles a prefix
    acked = answer["req"] if answer["kind"] == protocol.ACK else answer["ack"]
    client = _client_receiving(answer, reqs)
    assert client._receive(0) == answer
    assert [req for req, _ in client._unacked] == [r for r in sorted(set(reqs)) if r > acked]


@given(reports, st.integers(1, 45), st.booleans())
def test_an_answer_without_an_ack_settles_nothing_and_an_error_only_its_report(reqs, req, error):
    # the answer to a final report that asked for the next configuration, sent before the
    # report's commit, carries no ACK: the report stays to be confirmed (or sent again)
    answer = (
        protocol.error(protocol.E_UNKNOWN_PARAMETER, "no", req)
        if error
        else protocol.parameters(req, 0, 0, {}, "algorithm")
    )
    client = _client_receiving(answer, reqs)
    client._receive(0)
    left = [r for r in sorted(set(reqs)) if not (error and r == req)]
    assert [r for r, _ in client._unacked] == left


class _OneFrame:
    def __init__(self, frame: bytes) -> None:
        self.frame = frame

    def recv(self, flags: int = 0) -> bytes:
        return self.frame


@pytest.mark.parametrize("field", ["type", "event"])
@pytest.mark.parametrize("value", [{}, [], {"a": 1}])
def test_an_unhashable_value_where_a_name_belongs_is_a_protocol_error(field, value):
    message = (
        protocol.report_metric(1, "a", 0, "FINAL", 0, 1.0)
        if field == "type"
        else protocol.trial_end("a", "SUCCEEDED", 0)
    )
    message[field] = value
    with pytest.raises(ProtocolError, match=field) as raised:
        protocol.decode(msgpack.packb(message))
    assert raised.value.code == protocol.E_FIELD


@given(ids, counts, counts, counts, metric_values)
def test_the_report_tail_reads_what_the_full_decode_reads(job, parameter_id, req, seq, value):
    head = protocol.report_head(job, parameter_id, "PERIODICAL")
    frame = protocol.ReportFrames(job, parameter_id, "PERIODICAL").frame(req, seq, value)
    assert frame.startswith(head)
    fields = protocol.report_tail(frame, len(head))
    if type(value) is float:
        assert fields == (req, seq, value)
    else:  # a map (or an integer) takes the full path
        assert fields is None


@given(ids, counts, st.binary(max_size=40), st.data())
def test_the_report_tail_accepts_nothing_the_full_decode_refuses(job, parameter_id, tail, data):
    # a head followed by anything: a valid report's tail, mutated, or garbage
    head = protocol.report_head(job, parameter_id, "PERIODICAL")
    if data.draw(st.booleans()):
        entries = {
            "req": data.draw(counts | field_values),
            "sequence": data.draw(counts | field_values),
            "value": data.draw(finite | field_values),
        }
        if data.draw(st.booleans()):
            entries.pop(data.draw(st.sampled_from(sorted(entries))))
        tail = msgpack.packb(list(sum(entries.items(), ())))[1:] + tail[: data.draw(counts) % 3]
    fields = protocol.report_tail(head + tail, len(head))
    if fields is not None:
        req, seq, value = fields
        assert protocol.decode(head + tail) == protocol.report_metric(
            req, job, parameter_id, "PERIODICAL", seq, value
        )
