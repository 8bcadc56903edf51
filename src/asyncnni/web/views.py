"""What each dashboard page asks for, computed from a :class:`StoreMirror` as plain JSON data.

Pages of the trials table are sorted, filtered and cut on the server; the ordering of a
(sort, filter) pair is kept until the mirror changes, so paging through 100,000 rows sorts
once. Numbers that cannot be encoded as JSON (none, in a valid store) never appear: a
missing metric is ``None``.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from ..catalog import optimize_mode
from ..store import Event
from ..store.records import WAIT_FOR_RESULT, waited_on
from .mirror import Job, Row, StoreMirror, Wait

SORT_KEYS = ("sequence", "trial", "metric", "status", "duration", "start")
MAX_PAGE_SIZE = 500
_PLOT_POINTS = 4000  # a chart gets at most this many points; more only blur it
FINISHED = {"SUCCEEDED", "FAILED", "EARLY_STOPPED", "USER_CANCELED"}


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _duration(start: float, end: float | None, now: float) -> float:
    return (end if end is not None else now) - start


def row_record(row: Row, now: float | None = None) -> dict[str, Any]:
    job = row.job
    latest = row.intermediate[-1].value if row.intermediate else None
    return {
        "trial_job_id": job.trial_job_id,
        "sequence": job.sequence,
        "parameter_id": row.parameter_id,
        "parameter_index": row.parameter_index,
        "parameters": row.parameters,
        "status": job.status,
        "metric": _finite(row.value),
        "final": row.raw,
        "start_time": job.start_time,
        "end_time": job.end_time,
        "duration": _duration(job.start_time, job.end_time, now or time.time()),
        "intermediate_count": len(row.intermediate),
        "latest_intermediate": latest,
        "message": job.message,
    }


class Views:
    """The dashboard's questions about one experiment."""

    def __init__(self, mirror: StoreMirror) -> None:
        self.mirror = mirror
        self._orders: OrderedDict[tuple, list[int]] = OrderedDict()
        self._memo: dict[str, tuple[tuple, Any]] = {}

    def _stamp(self) -> tuple:
        return (self.mirror.version, len(self.mirror.rows))

    def _cached(self, name: str, compute: Any) -> Any:
        """``compute()``, computed once per mirror version (call with the lock held)."""
        stamp = self._stamp()
        hit = self._memo.get(name)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        value = compute()
        self._memo[name] = (stamp, value)
        return value

    def _values(self) -> np.ndarray:
        """Every row's final metric (NaN where it has none), in row order."""
        return self.mirror.values.array()

    def _ranked(self) -> np.ndarray:
        """Indices of the rows with a final metric, best first."""

        def rank() -> np.ndarray:
            values = self._values()
            done = np.flatnonzero(np.isfinite(values))
            keys = values[done] if self.mode() == "minimize" else -values[done]
            return done[np.argsort(keys, kind="stable")]

        return self._cached("ranked", rank)

    def _jobs_by_status(self, status: str) -> list[Job]:
        """The jobs of one status, in start order (call with the lock held)."""
        jobs = self.mirror.jobs
        return self._cached(
            f"status:{status}", lambda: [j for j in jobs.values() if j.status == status]
        )

    # --- overview ---------------------------------------------------------------------

    def mode(self) -> str:
        return optimize_mode(self.mirror.experiment).value

    def best_row(self) -> Row | None:
        ranked = self._ranked()
        return self.mirror.rows[ranked[0]] if len(ranked) else None

    def overview(self) -> dict[str, Any]:
        with self.mirror.lock:
            data = self._cached("overview", self._overview)
            record = self.mirror.experiment
            if record and record.get("end_time") is None:  # the clock runs on between changes
                data = data | {"duration": time.time() - record["start_time"]}
            return data

    def _overview(self) -> dict[str, Any]:
        m = self.mirror
        record = m.experiment
        config = record.get("config", {})
        counts = m.status_counts
        waiting = self._waits()
        best = self.best_row()
        now = time.time()
        return {
            "id": record.get("id"),
            "name": record.get("name"),
            "status": record.get("status"),
            "message": record.get("message"),
            "start_time": record.get("start_time"),
            "end_time": record.get("end_time"),
            "duration": _duration(record["start_time"], record.get("end_time"), now)
            if record
            else 0,
            "optimize_mode": self.mode(),
            "trial_concurrency": config.get("trial_concurrency"),
            "max_trial_number": config.get("max_trial_number"),
            "multi_phase": bool(config.get("multi_phase")),
            "async_dispatcher": bool(config.get("async_dispatcher")),
            "trial_jobs": len(m.jobs),
            "configurations": len(m.by_parameter),
            "counts": {
                "done": sum(counts.get(s, 0) for s in FINISHED),
                "running": counts.get("RUNNING", 0) - len(waiting),
                "waiting": len(waiting),
                "succeeded": counts.get("SUCCEEDED", 0),
                "failed": counts.get("FAILED", 0),
                "early_stopped": counts.get("EARLY_STOPPED", 0),
                "canceled": counts.get("USER_CANCELED", 0),
            },
            "best": row_record(best, now) if best else None,
            "finals": self._cached("finals", self._finals),
            "version": m.version,
        }

    def _waits(self) -> dict[str, Wait]:
        """The jobs whose next parameter set waits on another one's result, as the
        dispatcher recorded it (nobody waits once the experiment has ended)."""
        return self.mirror.waits if self.mirror.experiment.get("status") == "RUNNING" else {}

    def _finals(self) -> list[list]:
        """``[time, value, parameter_id]`` of every final result in time order (thinned to
        _PLOT_POINTS, keeping every point that improved on the best so far)."""
        rows = self.mirror.rows
        done = self._ranked()
        times = self.mirror.final_times.array()[done]
        done = done[np.argsort(times, kind="stable")]
        values = self._values()[done]
        keep = np.ones(len(done), dtype=bool)
        if len(done) > _PLOT_POINTS:
            best = (np.minimum if self.mode() == "minimize" else np.maximum).accumulate(values)
            improved = np.r_[True, best[1:] != best[:-1]]
            keep = improved | (np.arange(len(done)) % math.ceil(len(done) / _PLOT_POINTS) == 0)
        return [[rows[i].final_time, rows[i].value, rows[i].parameter_id] for i in done[keep]]

    # --- the trials table -------------------------------------------------------------

    def trials(
        self,
        *,
        page: int = 0,
        size: int = 50,
        sort: str = "sequence",
        order: str = "asc",
        status: str = "",
        q: str = "",
    ) -> dict[str, Any]:
        """One page of rows. ``sort``: one of SORT_KEYS or ``param:NAME``; ``status``: a
        comma-separated list; ``q``: a substring of the job id or the parameters' JSON.
        Rows without the sort value (no metric yet) come last in either order."""
        if sort not in SORT_KEYS and not sort.startswith("param:"):
            raise ValueError(
                f"sort must be one of {', '.join(SORT_KEYS)} or param:NAME, not {sort!r}"
            )
        if order not in ("asc", "desc"):
            raise ValueError(f"order must be asc or desc, not {order!r}")
        size = max(1, min(size, MAX_PAGE_SIZE))
        m = self.mirror
        with m.lock:
            indices = self._ordering(sort, order, status, q)
            now = time.time()
            start = max(page, 0) * size
            rows = [row_record(m.rows[i], now) for i in indices[start : start + size].tolist()]
            return {
                "total": len(m.rows),
                "matching": len(indices),
                "page": max(page, 0),
                "size": size,
                "rows": rows,
                "version": m.version,
            }

    def _ordering(self, sort: str, order: str, status: str, q: str) -> np.ndarray:
        key = (*self._stamp(), sort, order, status, q)
        cached = self._orders.get(key)
        if cached is not None:
            self._orders.move_to_end(key)
            return cached
        rows = self.mirror.rows
        selected = np.arange(len(rows))
        statuses = [s.strip().upper() for s in status.split(",") if s.strip()]
        if statuses:
            selected = selected[np.isin(self._column("status"), statuses)]
        if q:
            needle = q.lower()
            keep = [
                needle in rows[i].job.trial_job_id or needle in rows[i].search_text
                for i in selected.tolist()
            ]
            selected = selected[np.asarray(keep, dtype=bool)] if len(selected) else selected
        ordered = self._sorted(selected, sort, order == "desc")
        self._orders[key] = ordered
        while len(self._orders) > 16:
            self._orders.popitem(last=False)
        return ordered

    def _column(self, name: str) -> np.ndarray:
        """One value per row, in row order, as an array (once per mirror version): the sort
        and filter keys. Times of jobs still running are NaN."""
        rows = self.mirror.rows

        def column() -> np.ndarray:
            n = len(rows)
            if name == "status":
                return np.array([r.job.status for r in rows], dtype=str)
            if name == "trial":
                return np.array([r.job.trial_job_id for r in rows], dtype=str)
            if name == "sequence":  # then the phase
                return np.fromiter(
                    (r.job.sequence + r.parameter_index * 1e-9 for r in rows), float, n
                )
            if name == "start":
                return np.fromiter((r.job.start_time for r in rows), float, n)
            if name == "end":
                return np.fromiter(
                    (math.nan if r.job.end_time is None else r.job.end_time for r in rows), float, n
                )
            raise AssertionError(name)

        return self._cached(f"column:{name}", column)

    def _sorted(self, selected: np.ndarray, sort: str, descending: bool) -> np.ndarray:
        if sort.startswith("param:"):
            return self._by_parameter(selected, sort[len("param:") :], descending)
        if sort in ("trial", "status"):
            text = self._column(sort)[selected]
            order = np.argsort(text, kind="stable")
            return selected[order[::-1] if descending else order]
        if sort == "metric":
            keys = self._values()
        elif sort == "duration":
            end = self._column("end")
            keys = np.where(np.isnan(end), time.time(), end) - self._column("start")
        else:
            keys = self._column(sort)
        return _argsort(selected, keys[selected], descending)

    def _by_parameter(self, selected: np.ndarray, name: str, descending: bool) -> np.ndarray:
        """Numbers in numeric order, then text in text order; rows without it last."""
        numbers, text, kind = self._parameter_column(name)
        numeric = selected[kind[selected] == 0]
        words = selected[kind[selected] == 1]
        by_text = np.argsort(text[words], kind="stable") if len(words) else words
        return np.concatenate(
            (
                _argsort(numeric, numbers[numeric], descending),
                words[by_text[::-1] if descending else by_text],
                selected[kind[selected] == 2],
            )
        )

    def _parameter_column(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per row: the parameter as a number (NaN when it is not one), as text, and its
        kind (0 number, 1 text, 2 missing); once per mirror version."""
        rows = self.mirror.rows

        def column() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            missing = object()
            values = [r.parameters.get(name, missing) for r in rows]
            kind = np.fromiter(
                (
                    0
                    if type(v) is float or type(v) is int
                    else 2
                    if v is missing or v is None
                    else 1
                    for v in values
                ),
                np.int8,
                len(values),
            )
            numbers = np.fromiter(
                (v if k == 0 else math.nan for v, k in zip(values, kind.tolist(), strict=True)),
                float,
                len(values),
            )
            text = np.array(
                [str(v) if k == 1 else "" for v, k in zip(values, kind.tolist(), strict=True)],
                dtype=str,
            )
            return numbers, text, kind

        return self._cached(f"param:{name}", column)

    # --- hyper-parameters -------------------------------------------------------------

    def hyperparameters(self, limit: int = 2000) -> dict[str, Any]:
        """The parameters and final metric of the ``limit`` best results (for parallel
        coordinates and scatter plots), and each parameter's importance."""
        m = self.mirror
        with m.lock:
            return self._cached("hyperparameters", lambda: self._hyperparameters(limit))

    def _hyperparameters(self, limit: int) -> dict[str, Any]:
        m = self.mirror
        space = m.experiment.get("search_space", {})
        done = [m.rows[i] for i in self._ranked()]
        names = list(space) or sorted({k for r in done for k in r.parameters})
        importance = {
            name: _importance([r.parameters.get(name) for r in done], [r.value for r in done])
            for name in names
        }
        return {
            "names": names,
            "optimize_mode": self.mode(),
            "importance": importance,
            "rows": [
                {
                    "parameter_id": r.parameter_id,
                    "trial_job_id": r.job.trial_job_id,
                    "parameters": {n: r.parameters.get(n) for n in names},
                    "metric": r.value,
                }
                for r in done[:limit]
            ],
            "count": len(done),
            "version": m.version,
        }

    # --- intermediate results ---------------------------------------------------------

    def intermediate(self, parameter_ids: list[int] | None = None, top: int = 10) -> dict[str, Any]:
        """The curves of ``parameter_ids`` (default: the ``top`` best, every running one and
        the ``2 * top`` latest stopped early), each with its assessor kill, if any."""
        m = self.mirror
        with m.lock:
            kills = self._cached(
                "kills", lambda: {e.trial_job_id: e for e in m.events if e.kind == "ASSESSOR_KILL"}
            )
            if parameter_ids is None:
                best = [m.rows[i] for i in self._ranked()[:top]]
                running = [r for j in self._jobs_by_status("RUNNING") for r in j.rows]
                stopped = [r for j in self._jobs_by_status("EARLY_STOPPED") for r in j.rows]
                chosen = list(
                    dict.fromkeys(  # in this order, each once
                        r
                        for r in best + running[:MAX_PAGE_SIZE] + stopped[-2 * top :]
                        if r.intermediate
                    )
                )
            else:
                chosen = [m.by_parameter[p] for p in parameter_ids if p in m.by_parameter]
            series = []
            for row in chosen:
                kill = kills.get(row.job.trial_job_id)
                series.append(
                    {
                        "parameter_id": row.parameter_id,
                        "trial_job_id": row.job.trial_job_id,
                        "status": row.job.status,
                        "metric": row.value,
                        "points": [[m.sequence, m.value] for m in row.intermediate],
                        "killed": row.job.status == "EARLY_STOPPED" or kill is not None,
                        "kill_reason": kill.detail if kill else None,
                    }
                )
            return {"series": series, "version": m.version}

    # --- one trial job ----------------------------------------------------------------

    def trial(self, trial_job_id: str) -> dict[str, Any]:
        m = self.mirror
        with m.lock:
            job = m.jobs.get(trial_job_id)
            if job is None:
                raise LookupError(f"no trial job {trial_job_id!r}")
            now = time.time()
            return {
                "trial_job_id": job.trial_job_id,
                "sequence": job.sequence,
                "status": job.status,
                "start_time": job.start_time,
                "end_time": job.end_time,
                "duration": _duration(job.start_time, job.end_time, now),
                "exit_code": job.exit_code,
                "message": job.message,
                "trial_dir": job.trial_dir,
                "configurations": [
                    row_record(r, now)
                    | {
                        "source": r.source,
                        "handed_out": r.time,
                        "intermediate": [[i.sequence, i.value, i.time] for i in r.intermediate],
                        "parent_id": m.parents.get(r.parameter_id),  # type: ignore[arg-type]
                    }
                    for r in job.rows
                    if r.parameter_id is not None
                ],
                "events": [
                    {"time": e.time, "kind": e.kind, "detail": _describe(e)}
                    for e in m.events
                    if e.trial_job_id == trial_job_id
                ],
                "version": m.version,
            }

    def log_path(self, trial_job_id: str | None) -> Path:
        """The experiment's log, or a trial job's (its trial.log)."""
        if trial_job_id is None:
            return self.mirror.folder / "experiment.log"
        with self.mirror.lock:
            job = self.mirror.jobs.get(trial_job_id)
            if job is None:
                raise LookupError(f"no trial job {trial_job_id!r}")
            folder = (
                Path(job.trial_dir)
                if job.trial_dir
                else self.mirror.folder / "trials" / trial_job_id
            )
        return folder / "trial.log"

    # --- weight-sharing lineage and multi-phase streams -------------------------------

    def lineage(self, limit: int = 2000) -> dict[str, Any]:
        """The latest ``limit`` configurations, each with its parent (the parameter set whose
        result its tuner asked for before handing it out, as the dispatcher recorded it) and
        how long its job waited for that result, and every job that waits on a parent now."""
        m = self.mirror
        with m.lock:
            nodes = []
            latest = list(itertools.islice(reversed(m.by_parameter.items()), limit))[::-1]
            for pid, row in latest:
                parent = m.parents.get(pid)
                parent_row = m.by_parameter.get(parent) if parent is not None else None
                started = m.wait_started.get(pid)
                nodes.append(
                    {
                        "parameter_id": pid,
                        "trial_job_id": row.job.trial_job_id,
                        "parent_id": parent,
                        "parent_trial_job_id": parent_row.job.trial_job_id if parent_row else None,
                        "status": row.job.status,
                        "metric": row.value,
                        "waited": None
                        if parent is None
                        else (row.time - started if started is not None and row.time else 0.0),
                    }
                )
            now = time.time()
            waiting = []
            for job_id, wait in self._waits().items():
                parent_row = m.by_parameter.get(wait.parent_id)
                parent_job = parent_row.job if parent_row else None
                waiting.append(
                    {
                        "trial_job_id": job_id,
                        "parameter_id": wait.parameter_id,
                        "parent_id": wait.parent_id,
                        "parent_trial_job_id": parent_job.trial_job_id if parent_job else None,
                        "since": wait.since,
                        "for": now - wait.since,
                        "reason": f"its tuner awaits the result of parameter set {wait.parent_id}"
                        + (
                            f" (trial job {parent_job.trial_job_id}, {parent_job.status})"
                            if parent_job
                            else ""
                        )
                        + f" before it hands out parameter set {wait.parameter_id}",
                    }
                )
            return {
                "nodes": nodes,
                "waiting": waiting,
                "configurations": len(m.by_parameter),
                "mode": self.mode(),
                "version": m.version,
            }

    def streams(self, limit: int = 200) -> dict[str, Any]:
        """Per trial job, its configurations in order (multi-phase mode: each
        get_next_parameter() gets a new one)."""
        m = self.mirror
        with m.lock:
            jobs = sorted(m.jobs.values(), key=lambda j: j.sequence)
            many = [j for j in jobs if sum(r.parameter_id is not None for r in j.rows) > 1]
            return {
                "jobs": [
                    {
                        "trial_job_id": j.trial_job_id,
                        "status": j.status,
                        "configurations": [
                            {
                                "parameter_id": r.parameter_id,
                                "parameter_index": r.parameter_index,
                                "parameters": r.parameters,
                                "metric": r.value,
                                "handed_out": r.time,
                            }
                            for r in sorted(j.rows, key=lambda r: r.parameter_index)
                            if r.parameter_id is not None
                        ],
                    }
                    for j in many[:limit]
                ],
                "multi_phase_jobs": len(many),
                "version": m.version,
            }


def _argsort(selected: np.ndarray, keys: np.ndarray, descending: bool) -> np.ndarray:
    """``selected`` ordered by ``keys`` (stable); NaN keys last in either order."""
    keys = np.where(np.isnan(keys), np.inf, -keys if descending else keys)
    return selected[np.argsort(keys, kind="stable")]


def _describe(event: Event) -> str | None:
    """An event's detail in words (WAIT_FOR_RESULT keeps its facts as JSON)."""
    if event.kind != WAIT_FOR_RESULT:
        return event.detail
    parameter_id, parent_id, waits = waited_on(event)
    verb = "waited for" if waits else "used"
    return f"parameter set {parameter_id}: its tuner {verb} the result of parameter set {parent_id}"


def _importance(values: list, metrics: list[float]) -> float | None:
    """How much of the metric's variance one parameter explains, from 0 to 1: the squared
    rank correlation for numbers, the share of variance between the groups for choices."""
    pairs = [(v, y) for v, y in zip(values, metrics, strict=True) if v is not None]
    if len(pairs) < 3:
        return None
    y = np.asarray([p[1] for p in pairs], dtype=float)
    if y.std() == 0:
        return 0.0
    raw = [p[0] for p in pairs]
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw):
        x = np.asarray(raw, dtype=float)
        if x.std() == 0:
            return 0.0
        rank_x = np.argsort(np.argsort(x)).astype(float)
        rank_y = np.argsort(np.argsort(y)).astype(float)
        return float(np.corrcoef(rank_x, rank_y)[0, 1] ** 2)
    groups: dict[str, list[float]] = {}
    for v, value in zip(raw, y, strict=True):
        groups.setdefault(repr(v), []).append(value)
    between = sum(len(g) * (np.mean(g) - y.mean()) ** 2 for g in groups.values())
    return float(between / (len(y) * y.var()))
