"""The read endpoints of NNI's manager REST API (``/api/v1/nni/...``), in NNI's shapes, so
scripts written against ``nni.experiment`` or NNI's manager keep working.

NNI's conventions kept here: times in milliseconds since the epoch, camelCase keys, each
hyper-parameter set as a JSON *string* (``hyperParameters``), and a metric's ``data`` as the
JSON encoding of the JSON text the trial reported (NNI stores what its trials send, which
is already JSON).
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._version import __version__
from .mirror import Job, Row, StoreMirror

# asyncnni's experiment status -> NNI's ExperimentStatus
_STATUS = {"RUNNING": "RUNNING", "DONE": "DONE", "STOPPED": "STOPPED", "ERROR": "ERROR"}


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * 1000)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _camel_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            _camel(k) if "_" in k and not k.startswith("_") else k: _camel_keys(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_camel_keys(v) for v in value]
    return value


def _metric(row: Row, type_: str, sequence: int, raw: Any, when: float) -> dict[str, Any]:
    return {
        "timestamp": _ms(when),
        "trialJobId": row.job.trial_job_id,
        "parameterId": str(row.parameter_id),
        "type": type_,
        "sequence": sequence,
        "data": json.dumps(json.dumps(raw)),
    }


def metric_data_records(row: Row, type_: str | None) -> list[dict[str, Any]]:
    """NNI's MetricDataRecords of one parameter set (``type_`` None: both kinds); each
    metric as it was reported, a dict included."""
    out = []
    if type_ in (None, "PERIODICAL"):
        out += [_metric(row, "PERIODICAL", m.sequence, m.raw, m.time) for m in row.intermediate]
    if type_ in (None, "FINAL") and row.final_time is not None:
        out.append(_metric(row, "FINAL", 0, row.raw, row.final_time))
    return out


def trial_job_info(job: Job) -> dict[str, Any]:
    rows = [r for r in job.rows if r.parameter_id is not None]
    info: dict[str, Any] = {
        "trialJobId": job.trial_job_id,
        "sequenceId": job.sequence,
        "status": job.status,
        "startTime": _ms(job.start_time),
        "hyperParameters": [
            json.dumps(
                {
                    "parameter_id": r.parameter_id,
                    "parameter_source": r.source or "algorithm",
                    "parameters": r.parameters,
                    "parameter_index": r.parameter_index,
                }
            )
            for r in rows
        ],
        "logPath": job.trial_dir,
        "finalMetricData": [m for r in rows for m in metric_data_records(r, "FINAL")],
    }
    if job.end_time is not None:
        info["endTime"] = _ms(job.end_time)
    if job.message:
        info["message"] = job.message
    if job.status == "FAILED" and job.trial_dir:
        info["stderrPath"] = f"{job.trial_dir}/trial.log"
    return info


def routes(mirror: StoreMirror) -> list[Route]:
    def check_status(request: Request) -> Response:
        with mirror.lock:
            record = mirror.experiment
            errors = (
                [record["message"]]
                if record.get("status") == "ERROR" and record.get("message")
                else []
            )
            return JSONResponse(
                {"status": _STATUS.get(record.get("status"), "RUNNING"), "errors": errors}
            )

    def experiment(request: Request) -> Response:
        with mirror.lock:
            record = mirror.experiment
            end = record.get("end_time")
            sequences = [job.sequence for job in mirror.jobs.values()]
            profile = {
                "id": record.get("id"),
                "revision": mirror.version,
                "execDuration": int((end or time.time()) - record["start_time"]),
                "logDir": str(mirror.folder),
                "nextSequenceId": max(sequences, default=-1) + 1,
                "maxSequenceId": max(sequences, default=0),
                "params": _camel_keys(record.get("config", {}))
                | {"experimentName": record.get("name"), "searchSpace": record.get("search_space")},
                "startTime": _ms(record.get("start_time")),
            }
            if end is not None:
                profile["endTime"] = _ms(end)
            return JSONResponse(profile)

    def trial_jobs(request: Request) -> Response:
        status = request.query_params.get("status")
        with mirror.lock:
            jobs = sorted(mirror.jobs.values(), key=lambda j: j.sequence)
            return JSONResponse([trial_job_info(j) for j in jobs if status in (None, j.status)])

    def trial_job(request: Request) -> Response:
        with mirror.lock:
            job = mirror.jobs.get(request.path_params["job"])
            if job is None:
                return JSONResponse(
                    {"error": f"trial job {request.path_params['job']} not found"}, 404
                )
            return JSONResponse(trial_job_info(job))

    def metric_data(request: Request) -> Response:
        job_id = request.path_params.get("job")
        type_ = request.query_params.get("type")
        with mirror.lock:
            rows = (
                mirror.rows
                if job_id is None
                else (mirror.jobs[job_id].rows if job_id in mirror.jobs else [])
            )
            data = [
                m for r in rows if r.parameter_id is not None for m in metric_data_records(r, type_)
            ]
        data.sort(key=lambda m: m["timestamp"])
        return JSONResponse(data)

    def version(request: Request) -> Response:
        return JSONResponse(__version__)

    return [
        Route("/version", version),
        Route("/check-status", check_status),
        Route("/experiment", experiment),
        Route("/trial-jobs", trial_jobs),
        Route("/trial-jobs/{job}", trial_job),
        Route("/metric-data", metric_data),
        Route("/metric-data/{job}", metric_data),
    ]
