"""The dashboard's two figures (see benchmarks/README.md):

- ``dashboard_trials_page``: a store of ``--results`` final results (one trial job and one
  parameter set each, three intermediate results each), served by `python -m asyncnni.web`;
  wall time of GET /api/trials (a page of 50) for each sort, filter and search, first
  (uncached ordering; the median over ``--repeat`` fresh servers) and paged on; after the
  dashboard has loaded the store; and the CPU time of each first page computed in-process.
  The raw baseline: the same page by metric and by a
  parameter as one SQL query on the store (read-only), what a dashboard without its mirror
  would run.
- ``dashboard_ingestion``: configurations per second of a multi-phase experiment (8 workers,
  get + final report each, Random tuner) without a dashboard, and with one plus a client
  (a process of its own, like a browser) that, like an open trials page, refetches the
  overview and a sorted page at every change event; the dashboard is started as `asyncnni
  run --port` starts it (a child that lowers its priority); runs alternate, the median of
  ``--repeat`` each is reported.

    python benchmarks/dashboard.py --results 100000 --configs 20000 --repeat 3
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from _common import SEARCH_SPACE, TRIALS, report, sizes

from asyncnni.experiment import Experiment
from asyncnni.store import (
    DB_NAME,
    ExperimentRecord,
    JobEnd,
    JobStart,
    Metric,
    ParameterSet,
    open_store,
)

QUERIES = [
    "sort=sequence",
    "sort=sequence&page=1000",
    "sort=metric&order=desc",
    "sort=metric&order=desc&page=500",
    "sort=param:lr",
    "sort=duration&status=FAILED",
    "sort=metric&q=%22opt%22%3A%20%22a%22",
]


def fill(folder: Path, results: int) -> None:
    store = open_store(folder)
    store.create_experiment(
        ExperimentRecord("bench", "dashboard", {"tuner": {"name": "Random"}}, {})
    )
    rng = random.Random(0)
    for i in range(results):
        job = f"j{i:07d}"
        store.add_job_start(JobStart(job, i, str(folder / "trials" / job)))
        x = rng.random()
        params = {"x": x, "lr": rng.random(), "opt": rng.choice("abc")}
        store.add_parameter_sets([ParameterSet(i, job, 0, params, "algorithm")])
        reports = [Metric(job, i, "PERIODICAL", k, x * k, x * k) for k in range(3)]
        store.add_metrics(reports + [Metric(job, i, "FINAL", 0, x, x)])
        store.add_job_end(JobEnd(job, "FAILED" if i % 10 == 0 else "SUCCEEDED", 0, None))
        if i % 10_000 == 0:
            store.commit()
    store.commit()
    store.close()


def dashboard(folder: Path, *parent: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "asyncnni.web", str(folder), "127.0.0.1", "0", *parent],
        stdout=subprocess.DEVNULL,
    )
    address = folder / "dashboard.json"
    deadline = time.monotonic() + 600
    while not address.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the dashboard did not start")
        time.sleep(0.05)
    return process, json.loads(address.read_text())["url"]


def fetch_ms(url: str) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
    return (time.perf_counter() - start) * 1000


RAW_SQL = {
    "sort=metric&order=desc": "m.value DESC",
    "sort=param:lr": "json_extract(p.parameters, '$.lr')",
}


def raw_sql_ms(folder: Path, order_by: str) -> float:
    """One page of 50 joined rows ordered in SQL (read-only, as the dashboard opens it)."""
    db = sqlite3.connect(f"file:{folder / DB_NAME}?mode=ro", uri=True)
    try:
        start = time.perf_counter()
        db.execute(
            f"""SELECT j.trial_job_id, j.status, p.parameters, m.value FROM trial_jobs j
                LEFT JOIN parameters p ON p.trial_job_id = j.trial_job_id
                LEFT JOIN metrics m ON m.parameter_id = p.parameter_id AND m.type = 'FINAL'
                ORDER BY {order_by} LIMIT 50"""
        ).fetchall()
        return (time.perf_counter() - start) * 1000
    finally:
        db.close()


def cpu_ms(folder: Path, repeat: int) -> dict[str, float]:
    """CPU time of computing each first page in this process (the mirror loaded once, the
    orderings not kept): the server's own work, which a busy shared machine does not
    inflate the way it does wall time."""
    from urllib.parse import parse_qsl

    from asyncnni.web.mirror import StoreMirror
    from asyncnni.web.views import Views

    mirror = StoreMirror(folder)
    mirror.refresh()
    spent: dict[str, list[float]] = {q: [] for q in QUERIES}
    for _ in range(repeat):
        views = Views(mirror)  # nothing computed yet
        for q in QUERIES:
            args: dict = dict(parse_qsl(q))
            args["page"] = int(args.get("page", 0))
            start = time.process_time()
            views.trials(size=50, **args)
            spent[q].append((time.process_time() - start) * 1000)
    mirror.close()
    return {q: round(statistics.median(ms), 1) for q, ms in spent.items()}


def trials_page(results: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory(prefix="asyncnni-bench-") as tmp:
        folder = Path(tmp)
        fill(folder, results)
        first: dict[str, list[float]] = {q: [] for q in QUERIES}
        again = []
        for _ in range(repeat):
            process, url = dashboard(folder)
            try:
                for q in QUERIES:
                    first[q].append(fetch_ms(f"{url}/api/trials?size=50&{q}"))
                again += [
                    fetch_ms(f"{url}/api/trials?size=50&{q}") for q in QUERIES for _ in range(3)
                ]
            finally:
                process.terminate()
                process.wait()
            (folder / "dashboard.json").unlink(missing_ok=True)
        raw = {q: [raw_sql_ms(folder, sql) for _ in range(repeat)] for q, sql in RAW_SQL.items()}
        cpu = cpu_ms(folder, repeat)
    medians = {q: round(statistics.median(ms), 1) for q, ms in first.items()}
    report(
        "dashboard_trials_page",
        results=results,
        first_ms=medians,
        first_max_ms=max(medians.values()),
        repeated_p50_ms=round(statistics.median(again), 1),
        first_cpu_ms=cpu,
        first_cpu_max_ms=max(cpu.values()),
        raw_sql_ms={q: round(statistics.median(ms), 1) for q, ms in raw.items()},
        target_ms=200,
        runs=repeat,
    )


def client(url: str, stop: threading.Event, counter: list[int]) -> None:
    """An open page: at every change event, the overview and a page sorted by metric."""
    try:
        with urllib.request.urlopen(f"{url}/api/events", timeout=600) as events:
            for line in events:
                if stop.is_set():
                    return
                if line.startswith(b"event: change"):
                    fetch_ms(f"{url}/api/overview")
                    fetch_ms(f"{url}/api/trials?sort=metric&order=desc&size=50")
                    counter[0] += 1
    except OSError:
        if not stop.is_set():  # the dashboard ends with the experiment; before it, an error
            raise


def browser(folder: Path) -> None:
    """``python dashboard.py --browser FOLDER``: the client of an open page in a process of
    its own (as a browser is), so it never holds the experiment's GIL; prints its refreshes
    when terminated."""
    while not (folder / "dashboard.json").exists():
        time.sleep(0.05)
    url = json.loads((folder / "dashboard.json").read_text())["url"]
    counter = [0]

    def stop_reading(*_: object) -> None:
        raise SystemExit

    signal.signal(signal.SIGTERM, stop_reading)
    try:
        client(url, threading.Event(), counter)
    finally:
        print(counter[0], flush=True)


def ingest(configs: int, with_dashboard: bool) -> tuple[float, int]:
    with tempfile.TemporaryDirectory(prefix="asyncnni-bench-") as tmp:
        experiment = Experiment(
            {
                "search_space": SEARCH_SPACE,
                "trial_command": "python config_loop.py",
                "trial_code_directory": str(TRIALS),
                "tuner": {"name": "Random", "class_args": {"seed": 0}},
                "training_service": {"platform": "local"},
                "experiment_working_directory": tmp,
                "multi_phase": True,
                "max_configuration_number": configs,  # max_trial_number counts trial jobs
                "trial_concurrency": 8,
            }
        )
        process = page = None
        if with_dashboard:  # as `asyncnni run --port` starts it, and a page in a browser
            experiment.folder.mkdir(parents=True)
            process = subprocess.Popen(
                [sys.executable, "-m", "asyncnni.web", str(experiment.folder), "127.0.0.1", "0"]
                + [str(os.getpid())],
                stdout=subprocess.DEVNULL,
            )
            page = subprocess.Popen(
                [sys.executable, __file__, "--browser", str(experiment.folder)],
                stdout=subprocess.PIPE,
                text=True,
            )
        start = time.perf_counter()
        result = experiment.run()
        wall = time.perf_counter() - start
        refreshes = 0
        if page is not None and process is not None:
            page.terminate()
            refreshes = int(page.communicate()[0].strip() or 0)
            process.terminate()
            process.wait()
        if result.status != "DONE":
            raise SystemExit(f"experiment ended {result.status}: {result.message}")
        return configs / wall, refreshes


def ingestion(configs: int, repeat: int) -> None:
    without, with_, refreshes = [], [], []
    for _ in range(repeat):
        without.append(ingest(configs, False)[0])
        rate, count = ingest(configs, True)
        with_.append(rate)
        refreshes.append(count)
    base, dash = statistics.median(without), statistics.median(with_)
    report(
        "dashboard_ingestion",
        configs=configs,
        workers=8,
        without_dashboard_configs_per_s=round(base, 1),
        with_dashboard_configs_per_s=round(dash, 1),
        ratio=round(dash / base, 3),
        client_refreshes=refreshes,
        runs=repeat,
    )


def main() -> None:
    if sys.argv[1:2] == ["--browser"]:
        return browser(Path(sys.argv[2]))
    args = sizes(
        __doc__,
        results=(100_000, "stored final results"),
        configs=(20_000, "configurations per ingestion run"),
        repeat=(3, "fresh servers for the trials page; ingestion runs with and without"),
    )
    trials_page(args.results, args.repeat)
    ingestion(args.configs, args.repeat)


if __name__ == "__main__":
    main()
