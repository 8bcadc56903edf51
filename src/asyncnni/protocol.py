"""Wire protocol version 3: message kinds, the msgpack codec and validation of incoming messages.

Every message is one ZeroMQ frame holding a msgpack map with ``"v"`` and ``"kind"``.
Version 2 differs from version 1 in one rule: an ACK answering a version-2 REPORT_METRIC
is cumulative (``req`` N: every report of that connection up to request N that was not
refused with an ERROR is stored). Version 3 adds two optional fields, so a multi-phase
configuration costs one frame each way:

- ``next_index`` on a FINAL REPORT_METRIC: the report also asks for the job's
  configuration of that ``parameter_index``, as a NEW_TRIAL would; the answer (PARAMETERS or
  NO_MORE_TRIALS) echoes the report's ``req``.
- ``ack`` on PARAMETERS and NO_MORE_TRIALS: the cumulative ACK of version 2, carried by the
  answer instead of a frame of its own (every report of the connection up to request
  ``ack`` is stored).

A peer speaks one version; the dispatcher accepts all three and answers each message in
the version it came in, so version-1 and version-2 clients still work.
:func:`decode` is the single entry point for bytes from the network: it returns a plain dict
(typed below as TypedDicts) or raises :class:`ProtocolError` whose ``code`` and message say
exactly what is wrong, so the dispatcher can answer ERROR and keep serving everyone else.

This module imports only msgpack: trials load it.
"""

from __future__ import annotations

import enum
import math
from typing import Any, Literal, NotRequired, TypedDict

import msgpack

from .errors import ProtocolError

VERSION = 3
ACCEPTED_VERSIONS = (1, 2, 3)  # what decode accepts: older peers keep working

NEW_TRIAL = "NEW_TRIAL"
PARAMETERS = "PARAMETERS"
NO_MORE_TRIALS = "NO_MORE_TRIALS"
REPORT_METRIC = "REPORT_METRIC"
ACK = "ACK"
TRIAL_END = "TRIAL_END"
KILL_TRIAL = "KILL_TRIAL"
ERROR = "ERROR"

PERIODICAL = "PERIODICAL"
FINAL = "FINAL"
METRIC_TYPES = frozenset({PERIODICAL, FINAL})


class TrialEvent(enum.StrEnum):
    """How a trial job ended (TRIAL_END's ``event``, a trial job's stored status)."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    EARLY_STOPPED = "EARLY_STOPPED"
    USER_CANCELED = "USER_CANCELED"


TRIAL_END_EVENTS = frozenset(TrialEvent)

# ERROR codes
E_DECODE = "DECODE"
E_VERSION = "VERSION"
E_KIND = "UNKNOWN_KIND"
E_FIELD = "BAD_FIELD"
E_UNKNOWN_TRIAL = "UNKNOWN_TRIAL"
E_UNKNOWN_PARAMETER = "UNKNOWN_PARAMETER"
E_TUNER = "TUNER_ERROR"
E_NOT_ALLOWED = "NOT_ALLOWED"


class NewTrial(TypedDict):
    v: int
    kind: Literal["NEW_TRIAL"]
    req: int
    trial_job_id: str
    parameter_index: int


class Parameters(TypedDict):
    v: int
    kind: Literal["PARAMETERS"]
    req: int
    parameter_id: int
    parameter_index: int
    parameters: dict
    parameter_source: str
    ack: NotRequired[int]  # version 3: every report up to this request is stored


class Reply(TypedDict):
    """NO_MORE_TRIALS and ACK: the kind and the request they answer."""

    v: int
    kind: Literal["NO_MORE_TRIALS", "ACK"]
    req: int
    ack: NotRequired[int]  # version 3, NO_MORE_TRIALS only: as PARAMETERS's


class ReportMetric(TypedDict):
    v: int
    kind: Literal["REPORT_METRIC"]
    req: int
    trial_job_id: str
    parameter_id: int
    type: str
    sequence: int
    value: Any
    next_index: NotRequired[int]  # version 3, FINAL only: and the configuration of this index


class TrialEnd(TypedDict):
    v: int
    kind: Literal["TRIAL_END"]
    trial_job_id: str
    event: str
    exit_code: int | None


class KillTrial(TypedDict):
    v: int
    kind: Literal["KILL_TRIAL"]
    trial_job_id: str
    reason: str


class Error(TypedDict):
    v: int
    kind: Literal["ERROR"]
    req: int | None
    code: str
    message: str


def _is_int(x: object) -> bool:
    return type(x) is int


def _is_str(x: object) -> bool:
    return type(x) is str


def _is_req(x: object) -> bool:
    return type(x) is int and x >= 0


def _is_index(x: object) -> bool:
    return type(x) is int and x >= 0


def _is_exit_code(x: object) -> bool:
    return x is None or type(x) is int


def _is_parameters(x: object) -> bool:
    return type(x) is dict


def _is_metric_type(x: object) -> bool:
    return type(x) is str and x in METRIC_TYPES  # a map or list is not hashable: no lookup


def _is_event(x: object) -> bool:
    return type(x) is str and x in TRIAL_END_EVENTS


def _is_present(x: object) -> bool:
    return True  # checked further by metric_scalar


_FIELD_CHECKS: dict[str, tuple[tuple[str, Any, str], ...]] = {
    NEW_TRIAL: (
        ("req", _is_req, "a non-negative integer"),
        ("trial_job_id", _is_str, "a string"),
        ("parameter_index", _is_index, "a non-negative integer"),
    ),
    PARAMETERS: (
        ("req", _is_req, "a non-negative integer"),
        ("parameter_id", _is_index, "a non-negative integer"),
        ("parameter_index", _is_index, "a non-negative integer"),
        ("parameters", _is_parameters, "a map"),
        ("parameter_source", _is_str, "a string"),
    ),
    NO_MORE_TRIALS: (("req", _is_req, "a non-negative integer"),),
    REPORT_METRIC: (
        ("req", _is_req, "a non-negative integer"),
        ("trial_job_id", _is_str, "a string"),
        ("parameter_id", _is_index, "a non-negative integer"),
        ("type", _is_metric_type, "PERIODICAL or FINAL"),
        ("sequence", _is_index, "a non-negative integer"),
        ("value", _is_present, "a metric"),
    ),
    ACK: (("req", _is_req, "a non-negative integer"),),
    TRIAL_END: (
        ("trial_job_id", _is_str, "a string"),
        ("event", _is_event, "one of " + ", ".join(sorted(TRIAL_END_EVENTS))),
        ("exit_code", _is_exit_code, "an integer or nil"),
    ),
    KILL_TRIAL: (("trial_job_id", _is_str, "a string"), ("reason", _is_str, "a string")),
    ERROR: (("code", _is_str, "a string"), ("message", _is_str, "a string")),
}


# fields of version 3 that a message may carry: (kind, name) -> (check, what it must be)
_OPTIONAL_CHECKS: dict[tuple[str, str], tuple[Any, str]] = {
    (REPORT_METRIC, "next_index"): (_is_index, "a non-negative integer"),
    (PARAMETERS, "ack"): (_is_req, "a non-negative integer"),
    (NO_MORE_TRIALS, "ack"): (_is_req, "a non-negative integer"),
}
OPTIONAL_SINCE = 3  # the version that brought them
_ABSENT = object()


def plain(value: Any) -> Any:
    """numpy (or torch) scalars and arrays as plain numbers and lists, for msgpack and JSON:
    tuners written the NNI way often return them. Anything else is refused with TypeError."""
    for convert in ("tolist", "item"):
        if hasattr(value, convert):
            return getattr(value, convert)()
    raise TypeError(
        f"{type(value).__name__} cannot be sent or stored (use numbers, strings, lists, maps)"
    )


def plain_values(value: Any) -> Any:
    """``value`` with every numpy (or torch) scalar and array inside it made plain (see
    :func:`plain`): what a tuner hands out is converted once, so the wire and the store get
    the same plain values, and a value that cannot be sent fails where the tuner made it."""
    kind = type(value)
    if kind is dict:  # a plain item is taken as it is: no call per value of a flat set
        return {
            key: item if type(item) in _PLAIN else plain_values(item) for key, item in value.items()
        }
    if kind is list or kind is tuple:
        return [plain_values(item) for item in value]
    if kind in _PLAIN:
        return value
    return plain_values(plain(value))


_PLAIN = frozenset((str, int, float, bool, type(None)))


_packer = msgpack.Packer(use_bin_type=True, default=plain)  # default: called only for other types


def encode(message: dict) -> bytes:
    """One frame for ``message`` (a map that already has ``v`` and ``kind``)."""
    return _packer.pack(message)


def decode(frame: bytes) -> dict:
    """Decode and validate one frame; raises ProtocolError naming what is wrong."""
    try:
        message = msgpack.unpackb(frame, raw=False, strict_map_key=True)
    except Exception as err:  # msgpack raises several unrelated types for garbage
        raise ProtocolError(E_DECODE, f"frame is not valid msgpack: {err}") from None
    if type(message) is not dict:
        raise ProtocolError(E_DECODE, f"a message must be a map, got {type(message).__name__}")
    validate(message)
    return message


def _fast_valid(message: dict) -> bool:
    """True for a well-formed message of the hot path: NEW_TRIAL, REPORT_METRIC with a plain
    float value, and the answers a trial waits for (ACK, PARAMETERS, NO_MORE_TRIALS), each
    checked in one expression. Anything else (or anything wrong) goes through the full
    checks, which also say what is wrong."""
    get = message.get
    version = get("v")  # True == 1 in Python: the type too
    if type(version) is not int or version not in ACCEPTED_VERSIONS:
        return False
    req = get("req")
    if type(req) is not int or req < 0:
        return False
    kind = get("kind")
    if kind == ACK:
        return True
    if kind in (NO_MORE_TRIALS, PARAMETERS):
        ack = get("ack", _ABSENT)
        if ack is not _ABSENT and (version < OPTIONAL_SINCE or type(ack) is not int or ack < 0):
            return False
        if kind == NO_MORE_TRIALS:
            return True
        pid, index = get("parameter_id"), get("parameter_index")
        return (
            type(pid) is int
            and pid >= 0
            and type(index) is int
            and index >= 0
            and type(get("parameters")) is dict
            and type(get("parameter_source")) is str
        )
    job = get("trial_job_id")
    if type(job) is not str or not job:
        return False
    if kind == REPORT_METRIC:
        value, pid, seq = get("value"), get("parameter_id"), get("sequence")
        following = get("next_index", _ABSENT)
        if following is not _ABSENT and (
            version < OPTIONAL_SINCE
            or type(following) is not int
            or following < 0
            or get("type") != FINAL
        ):
            return False
        return (
            type(value) is float
            and math.isfinite(value)
            and type(pid) is int
            and pid >= 0
            and type(seq) is int
            and seq >= 0
            and _is_metric_type(get("type"))
        )
    if kind == NEW_TRIAL:
        index = get("parameter_index")
        return type(index) is int and index >= 0
    return False


def validate(message: dict) -> None:
    """Check version, kind and the kind's fields; raises ProtocolError."""
    if not _fast_valid(message):
        check_fields(message)


def check_fields(message: dict) -> None:
    """The full checks, field by field, naming what is wrong."""
    version = message.get("v")
    if type(version) is not int or version not in ACCEPTED_VERSIONS:
        raise ProtocolError(
            E_VERSION,
            f"unsupported protocol version {version!r} (this side speaks versions "
            f"{', '.join(map(str, ACCEPTED_VERSIONS))})",
        )
    kind = message.get("kind")
    checks = _FIELD_CHECKS.get(kind) if type(kind) is str else None
    if checks is None:
        raise ProtocolError(E_KIND, f"unknown message kind {kind!r}")
    for name, check, expected in checks:
        if name not in message:
            raise ProtocolError(E_FIELD, f"{kind}: missing field {name!r}")
        if not check(message[name]):
            raise ProtocolError(
                E_FIELD, f"{kind}: field {name!r} must be {expected}, got {message[name]!r}"
            )
    for (owner, name), (check, expected) in _OPTIONAL_CHECKS.items():
        if owner != kind or name not in message:
            continue
        if version < OPTIONAL_SINCE:
            raise ProtocolError(
                E_FIELD, f"{kind}: field {name!r} is version {OPTIONAL_SINCE}'s, not {version}'s"
            )
        if not check(message[name]):
            raise ProtocolError(
                E_FIELD, f"{kind}: field {name!r} must be {expected}, got {message[name]!r}"
            )
    if kind == REPORT_METRIC:
        if "next_index" in message and message["type"] != FINAL:
            raise ProtocolError(E_FIELD, "REPORT_METRIC: only a FINAL report has 'next_index'")
        metric_scalar(message["value"])
    elif kind == NEW_TRIAL and not message["trial_job_id"]:
        raise ProtocolError(E_FIELD, "NEW_TRIAL: field 'trial_job_id' must not be empty")


def metric_scalar(value: Any) -> float:
    """The number in a metric value (a finite number, or a map with one under
    ``"default"``): what a tuner optimises. The one definition, for the wire, the tuners and
    the assessors; raises ProtocolError (a ValueError) for anything else."""
    number = value.get("default") if type(value) is dict else value
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise ProtocolError(
            E_FIELD,
            f"a metric must be a number or a map with a number under 'default', got {value!r}",
        )
    if not math.isfinite(number):
        raise ProtocolError(E_FIELD, f"a metric must be finite, got {number!r}")
    return float(number)


# Constructors for the messages each side sends: one place spells every field.


def new_trial(req: int, trial_job_id: str, parameter_index: int, v: int = VERSION) -> NewTrial:
    return {
        "v": v,
        "kind": NEW_TRIAL,
        "req": req,
        "trial_job_id": trial_job_id,
        "parameter_index": parameter_index,
    }


def parameters(
    req: int, parameter_id: int, parameter_index: int, params: dict, source: str, v: int = VERSION
) -> Parameters:
    """The answer to a NEW_TRIAL (or a FINAL report with ``next_index``); in version 3 the
    dispatcher may add ``ack`` (:func:`with_ack`)."""
    return {
        "v": v,
        "kind": PARAMETERS,
        "req": req,
        "parameter_id": parameter_id,
        "parameter_index": parameter_index,
        "parameters": params,
        "parameter_source": source,
    }


def no_more_trials(req: int, v: int = VERSION) -> Reply:
    return {"v": v, "kind": NO_MORE_TRIALS, "req": req}


def with_ack(answer: Parameters | Reply, acked: int) -> Parameters | Reply:
    """A version-3 PARAMETERS or NO_MORE_TRIALS that also says: every report of the
    connection up to request ``acked`` is stored (what a cumulative ACK says)."""
    answer["ack"] = acked
    return answer


def report_metric(
    req: int,
    trial_job_id: str,
    parameter_id: int,
    type_: str,
    sequence: int,
    value: Any,
    v: int = VERSION,
    next_index: int | None = None,
) -> ReportMetric:
    """``next_index`` (version 3, FINAL only): the report also asks for the job's
    configuration of that index, answered as a NEW_TRIAL with the report's ``req``."""
    message: ReportMetric = {
        "v": v,
        "kind": REPORT_METRIC,
        "req": req,
        "trial_job_id": trial_job_id,
        "parameter_id": parameter_id,
        "type": type_,
        "sequence": sequence,
        "value": value,
    }
    if next_index is not None:
        message["next_index"] = next_index
    return message


def ack(req: int, v: int = VERSION) -> Reply:
    """From version 2: every report up to ``req`` of the connection is stored (cumulative);
    in version 1: the report ``req`` is."""
    return {"v": v, "kind": ACK, "req": req}


def trial_end(trial_job_id: str, event: str, exit_code: int | None) -> TrialEnd:
    return {
        "v": VERSION,
        "kind": TRIAL_END,
        "trial_job_id": trial_job_id,
        "event": event,
        "exit_code": exit_code,
    }


def kill_trial(trial_job_id: str, reason: str) -> KillTrial:
    return {"v": VERSION, "kind": KILL_TRIAL, "trial_job_id": trial_job_id, "reason": reason}


def error(code: str, message: str, req: int | None = None, v: int = VERSION) -> Error:
    return {"v": v, "kind": ERROR, "req": req, "code": code, "message": message}


def request_id(frame: bytes) -> int | None:
    """Best effort: the ``req`` of a frame that failed validation, so its ERROR can echo it."""
    return _answer_fields(frame)[0]


def answer_version(frame: bytes) -> int:
    """The version to answer a frame that failed validation in: its own when accepted,
    else 1, which every peer reads."""
    return _answer_fields(frame)[1]


def _answer_fields(frame: bytes) -> tuple[int | None, int]:
    try:
        message = msgpack.unpackb(frame, raw=False)
    except Exception:
        return None, 1
    if type(message) is not dict:
        return None, 1
    req, version = message.get("req"), message.get("v")
    return (
        req if _is_req(req) else None,
        version if type(version) is int and version in ACCEPTED_VERSIONS else 1,
    )


def report_head(trial_job_id: str, parameter_id: int, type_: str, v: int = VERSION) -> bytes:
    """What every REPORT_METRIC frame (version 2 or later) of one parameter set and type
    starts with, as :class:`ReportFrames` packs it: a map of 8 entries and the 5 that never
    change."""
    pack = _packer.pack
    return b"\x88" + b"".join(
        pack(key) + pack(value)
        for key, value in (
            ("v", v),
            ("kind", REPORT_METRIC),
            ("trial_job_id", trial_job_id),
            ("parameter_id", parameter_id),
            ("type", type_),
        )
    )


def report_tail(frame: bytes, head_length: int) -> tuple[int, int, float] | None:
    """(req, sequence, value) of a frame that starts with a :func:`report_head` of
    ``head_length`` bytes, when the rest is exactly those three entries with valid types
    and a finite float value: the dispatcher's hot path, which then decodes three fields,
    not eight. None for anything else; :func:`decode` then says what is wrong."""
    try:
        tail = msgpack.unpackb(b"\x83" + frame[head_length:])
    except Exception:
        return None
    req, sequence, value = tail.get("req"), tail.get("sequence"), tail.get("value")
    if (
        len(tail) == 3
        and type(req) is int
        and req >= 0
        and type(sequence) is int
        and sequence >= 0
        and type(value) is float
        and value - value == 0.0  # finite: inf - inf and nan - nan are nan
    ):
        return req, sequence, value
    return None


class ReportFrames:
    """The frames of one parameter set's REPORT_METRICs: the fields that do not change
    are packed once (:func:`report_head`), so a report costs one small pack and a join (the
    trial's hot path). Decodes to exactly what :func:`report_metric` encodes."""

    def __init__(self, trial_job_id: str, parameter_id: int, type_: str) -> None:
        self._head = report_head(trial_job_id, parameter_id, type_)

    def frame(self, req: int, sequence: int, value: Any) -> bytes:
        # the three changing entries, packed as the items of one array without its header
        return self._head + _packer.pack(("req", req, "sequence", sequence, "value", value))[1:]
