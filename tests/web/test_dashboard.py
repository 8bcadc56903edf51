"""The dashboard against real experiments: its JSON and NNI REST answers, and what a headless
chromium shows (live updates included)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from asyncnni import Experiment
from asyncnni.catalog import export_rows

from ..helpers import ASSETS, experiment_config
from .conftest import dashboard_url, python_env

ROOT = Path(__file__).resolve().parents[2]


def get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def finished(tmp_path: Path, **overrides) -> Experiment:
    config = experiment_config(
        tmp_path, **{"trial_command": "python score_trial.py", "max_trial_number": 6, **overrides}
    )
    experiment = Experiment(config)
    assert experiment.run().status == "DONE"
    return experiment


def run_to_end(tmp_path: Path, experiment_id: str, **overrides) -> Path:
    """`asyncnni run` in its own process (the browser's event loop owns this thread)."""
    config = {"trial_command": "python score_trial.py", "max_trial_number": 6, **overrides}
    (tmp_path / "exp.yaml").write_text(json.dumps(experiment_config(tmp_path, **config)))
    command = [sys.executable, "-m", "asyncnni", "run", str(tmp_path / "exp.yaml")]
    subprocess.run(command + ["--id", experiment_id, "-q"], check=True, timeout=300)
    return tmp_path / "experiments" / experiment_id


def test_the_api_pages_sorts_and_filters_on_the_server_and_answers_nni_clients(tmp_path, serve):
    experiment = finished(tmp_path)
    rows = export_rows(experiment.folder.parent, experiment.id)
    url = serve(experiment.folder)

    overview = get(f"{url}/api/overview")
    assert overview["counts"]["done"] == overview["counts"]["succeeded"] == 6
    best = max(rows, key=lambda r: r["final_metric"])
    assert overview["best"]["metric"] == pytest.approx(best["final_metric"])
    assert overview["best"]["parameters"] == best["parameters"]

    page = get(f"{url}/api/trials?sort=metric&order=desc&size=4&page=0")
    assert page["matching"] == 6 and len(page["rows"]) == 4
    metrics = [r["metric"] for r in page["rows"]]
    assert metrics == sorted((r["final_metric"] for r in rows), reverse=True)[:4]
    assert len(get(f"{url}/api/trials?size=4&page=1")["rows"]) == 2
    assert get(f"{url}/api/trials?status=FAILED")["matching"] == 0
    job = rows[0]["trial_job_id"]
    assert [r["trial_job_id"] for r in get(f"{url}/api/trials?q={job}")["rows"]] == [job]
    with pytest.raises(urllib.error.HTTPError) as bad:
        get(f"{url}/api/trials?sort=colour")
    assert bad.value.code == 400 and "sort must be one of" in json.load(bad.value)["error"]

    detail = get(f"{url}/api/trials/{job}")
    assert [len(c["intermediate"]) for c in detail["configurations"]] == [3]
    with pytest.raises(urllib.error.HTTPError) as missing:
        get(f"{url}/api/trials/nosuchjob")
    assert missing.value.code == 404

    # NNI's manager API, as nni.experiment's REST client reads it
    assert get(f"{url}/api/v1/nni/check-status") == {"status": "DONE", "errors": []}
    profile = get(f"{url}/api/v1/nni/experiment")
    assert profile["id"] == experiment.id and profile["params"]["trialConcurrency"] == 4
    jobs = get(f"{url}/api/v1/nni/trial-jobs")
    assert sorted(j["trialJobId"] for j in jobs) == sorted(r["trial_job_id"] for r in rows)
    hyper = json.loads(jobs[0]["hyperParameters"][0])
    assert set(hyper) >= {"parameter_id", "parameter_source", "parameters"}
    final = jobs[0]["finalMetricData"][0]
    assert final["type"] == "FINAL" and isinstance(json.loads(json.loads(final["data"])), float)
    metrics = get(f"{url}/api/v1/nni/metric-data/{jobs[0]['trialJobId']}")
    assert [m["type"] for m in metrics] == ["PERIODICAL"] * 3 + ["FINAL"]


def test_view_of_an_unknown_experiment_says_so(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "asyncnni", "view", "nosuch", "--working-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "no experiment store" in result.stderr


def final_values(folder: Path) -> list[float]:
    """The stored final results, read the way the dashboard reads: read-only."""
    db = sqlite3.connect(f"file:{folder / 'experiment.db'}?mode=ro", uri=True)
    try:
        return [v for (v,) in db.execute("SELECT value FROM metrics WHERE type = 'FINAL'")]
    finally:
        db.close()


@pytest.mark.slow
def test_a_running_experiment_updates_the_page_without_a_reload(tmp_path, page):
    (tmp_path / "exp.yaml").write_text(
        json.dumps(
            experiment_config(
                tmp_path,
                trial_command="python score_trial.py",
                trial_code_directory=str(ASSETS),
                max_trial_number=4,
                trial_concurrency=4,
            )
        )
    )
    folder = tmp_path / "experiments" / "live"
    run = subprocess.Popen(
        [sys.executable, "-m", "asyncnni", "run", str(tmp_path / "exp.yaml"), "--id", "live"]
        + ["--port", "0", "--quiet"],
        env=python_env() | {"WEB_GO_DIR": str(tmp_path)},
    )
    try:
        url = dashboard_url(folder, run)
        page.goto(url)
        page.wait_for_function("document.getElementById('count-running')?.textContent === '4'")
        assert page.inner_text("#count-done") == "0" and page.inner_text("#best-value") == "—"
        page.evaluate("window.__same_page = true")
        for sequence in range(3):  # three trials report, the fourth keeps the run going
            (tmp_path / f"go-{sequence}").write_text("")
        page.wait_for_function("document.getElementById('count-done')?.textContent === '3'")
        assert page.evaluate("window.__same_page") is True, "updated without a reload"
        assert page.inner_text("#count-running") == "1"
        assert float(page.inner_text("#best-value")) == pytest.approx(
            max(final_values(folder)), rel=1e-5
        )

        page.click("nav a[data-page=trials]")
        page.wait_for_selector("#trials-table tbody tr")
        assert page.locator("#trials-table tbody tr").count() == 4
        page.click("th[data-sort=metric]")
        page.wait_for_selector("th.sorted.desc[data-sort=metric]")
        shown = page.locator("#trials-table td.metric").all_inner_texts()
        expected = sorted(final_values(folder), reverse=True)
        assert [float(t) for t in shown[:3]] == pytest.approx(expected, rel=1e-5)
        assert shown[3] == "", "the running trial, without a metric, comes last"
        (tmp_path / "go-3").write_text("")
        assert run.wait(60) == 0
    finally:
        if run.poll() is None:
            run.terminate()
            run.wait(30)


@pytest.mark.slow
def test_the_lineage_of_the_weight_sharing_example_names_each_childs_parent(tmp_path, serve, page):
    folder = run_to_end(
        tmp_path,
        "lineage",
        search_space={
            "layers": {"_type": "choice", "_value": [1, 2, 3]},
            "width": {"_type": "choice", "_value": [16, 32, 64]},
        },
        max_trial_number=8,
        trial_concurrency=2,
        async_dispatcher=True,
        shared_storage={"local_mount_point": str(tmp_path / "checkpoints")},
        tuner={
            "code_directory": str(ROOT / "tuners" / "weight_sharing"),
            "class_file_name": "evolution_tuner.py",
            "class_name": "WeightSharingEvolution",
            "class_args": {"population_size": 3, "sample_size": 2, "seed": 0},
        },
    )
    rows = export_rows(folder.parent, "lineage")
    parents = {r["parameter_id"]: r["parameters"]["parent_id"] for r in rows}
    assert any(p is not None for p in parents.values()), "the example made children"
    page.goto(serve(folder) + "/#/lineage")
    page.wait_for_selector("#lineage-table tbody tr")
    for pid, parent in parents.items():
        cell = page.inner_text(f"#lineage-table tr[data-parameter-id='{pid}'] td.parent")
        assert cell == ("—" if parent is None else str(parent)), pid


@pytest.mark.slow
def test_the_intermediate_page_marks_the_assessors_kills_by_default(tmp_path, serve, page):
    folder = run_to_end(
        tmp_path,
        "curves",
        search_space={"x": {"_type": "choice", "_value": [0.1, 0.9]}},
        trial_command="python slow_curve_trial.py",
        max_trial_number=4,
        tuner={"name": "Random", "class_args": {"seed": 3}},
        assessor={
            "code_directory": str(ASSETS),
            "class_file_name": "threshold_assessor.py",
            "class_name": "ThresholdAssessor",
            "class_args": {"threshold": 0.5, "start_step": 3},
        },
    )
    rows = export_rows(folder.parent, "curves")
    killed = {r["parameter_id"] for r in rows if r["status"] == "EARLY_STOPPED"}
    assert killed and len(killed) < len(rows), "the seed gives both kinds of curve"
    page.goto(serve(folder) + "/#/intermediate")  # no ids typed: the default selection
    page.wait_for_selector("#curves-table tbody tr")
    for row in rows:
        cell = page.inner_text(
            f"#curves-table tr[data-parameter-id='{row['parameter_id']}'] td.killed"
        )
        assert cell.startswith("stopped early") == (row["parameter_id"] in killed), row
    marked = page.evaluate(
        """echarts.getInstanceByDom(document.getElementById('curves-chart')).getOption().series
           .filter((s) => s.markPoint && s.markPoint.data.length).map((s) => s.name)"""
    )
    assert sorted(marked) == sorted(f"set {p}" for p in killed)


@pytest.mark.slow
def test_a_child_waiting_on_its_parent_is_shown_live_with_that_parent(tmp_path, page):
    # population 1, sample 1: the second configuration is a child of set 0, whose trial is
    # held back (WEB_GO_DIR), so the other job waits on it until the test releases it
    config = experiment_config(
        tmp_path,
        search_space={"width": {"_type": "choice", "_value": [16, 32, 64]}},
        trial_command="python score_trial.py",
        max_trial_number=2,
        trial_concurrency=2,
        async_dispatcher=True,
        shared_storage={"local_mount_point": str(tmp_path / "checkpoints")},
        tuner={
            "code_directory": str(ROOT / "tuners" / "weight_sharing"),
            "class_file_name": "evolution_tuner.py",
            "class_name": "WeightSharingEvolution",
            "class_args": {"population_size": 1, "sample_size": 1, "seed": 0},
        },
    )
    (tmp_path / "exp.yaml").write_text(json.dumps(config))
    run = subprocess.Popen(
        [sys.executable, "-m", "asyncnni", "run", str(tmp_path / "exp.yaml"), "--id", "wait"]
        + ["--port", "0", "--quiet"],
        env=python_env() | {"WEB_GO_DIR": str(tmp_path)},
    )
    try:
        url = dashboard_url(tmp_path / "experiments" / "wait", run)
        page.goto(url + "/#/lineage")
        page.wait_for_selector("#waiting tr[data-trial-job-id]")
        assert page.inner_text("#waiting td.parent") == "0"
        parent_job = page.inner_text("#lineage-table tr[data-parameter-id='0'] td:nth-child(2)")
        assert parent_job in page.inner_text("#waiting td:nth-child(4)")
        # the parent reports (the two jobs asked in either order): the child gets set 1
        parent_sequence = get(f"{url}/api/trials/{parent_job}")["sequence"]
        (tmp_path / f"go-{parent_sequence}").write_text("")
        page.wait_for_selector("#lineage-table tr[data-parameter-id='1']")  # no reload
        assert page.query_selector("#waiting tr[data-trial-job-id]") is None
        assert page.inner_text("#lineage-table tr[data-parameter-id='1'] td.parent") == "0"
        (tmp_path / f"go-{1 - parent_sequence}").write_text("")
        assert run.wait(60) == 0
    finally:
        if run.poll() is None:
            run.terminate()
            run.wait(30)
