"""NNI's integration tests, on configs of our own in NNI's v1 and v2 formats: `import nni`
trials, NNI-style tuners and assessors, run by the `asyncnni run` command with real trial
processes, checked the way NNI's validators (test/training_service/nnitest) check them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from asyncnni.catalog import export_rows
from asyncnni.nni_compat import PATH as NNI_PATH
from asyncnni.store import open_reader

ASSETS = Path(__file__).parent / "assets"


def run_nni(
    tmp_path: Path, folder: str, config: str, returncode: int = 0
) -> tuple[subprocess.CompletedProcess, list]:
    """``asyncnni run`` on a copy of ``assets/folder`` (NNI's tuners write next to
    themselves); the experiment's rows as ``asyncnni export`` gives them."""
    work = tmp_path / folder
    if not work.exists():
        shutil.copytree(ASSETS / folder, work)
    home = tmp_path / "home"
    env = {**os.environ, "ASYNCNNI_HOME": str(home)}
    env.pop("PYTHONPATH", None)  # asyncnni itself must make `import nni` work
    exp_id = f"{folder}-{Path(config).stem}".replace("_", "-")
    proc = subprocess.run(
        [sys.executable, "-m", "asyncnni", "run", str(work / config), "--id", exp_id, "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert proc.returncode == returncode, proc.stderr
    return proc, export_rows(home, exp_id)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("config.yml", "expected_metrics.json"),
        ("config_dict_metrics.yml", "expected_metrics_dict.json"),
    ],
)
def test_metrics_float_and_dict_as_nnis_metrics_validator_checks(tmp_path, config, expected):
    proc, rows = run_nni(tmp_path, "metrics", config)
    want = json.loads((ASSETS / "metrics" / expected).read_text())
    assert "an NNI v1 config, converted" in proc.stderr
    assert len(rows) == 1 and rows[0]["status"] == "SUCCEEDED"
    assert rows[0]["final_metric"] == want["final_result"]  # a dict stays a dict
    with open_reader(tmp_path / "home" / f"metrics-{Path(config).stem}".replace("_", "-")) as store:
        got = store.intermediate_results(rows[0]["parameter_id"])
    scalars = [m["default"] if isinstance(m, dict) else m for m in want["intermediate_result"]]
    assert got == pytest.approx(scalars)


def test_a_failing_trial_fails_and_the_experiment_ends(tmp_path):
    _, rows = run_nni(tmp_path, "metrics", "config_failure.yml")
    assert [row["status"] for row in rows] == ["FAILED"]
    assert rows[0]["final_metric"] is None


def test_a_v2_config_with_medianstop_runs(tmp_path):
    _, rows = run_nni(tmp_path, "metrics", "config-v2.yml")
    assert [row["status"] for row in rows] == ["SUCCEEDED"]
    assert rows[0]["final_metric"] == 1.0


@pytest.mark.slow
def test_naive_tuner_and_assessor_as_nnis_naive_test_checks(tmp_path):
    _, rows = run_nni(tmp_path, "naive", "local.yml")
    work = tmp_path / "naive"
    assert len(rows) == 10
    # the tuner got the search space exactly as written (no NNI types in it)
    assert json.loads((work / "tuner_search_space.json").read_text()) == {"x": [1, 100]}
    tuner_result = set((work / "tuner_result.txt").read_text().splitlines(keepends=True))
    expected = set((work / "expected_tuner_result.txt").read_text().splitlines(keepends=True))
    assert "ERROR\n" not in tuner_result
    assert tuner_result.issuperset(expected)  # trials may finish before a verdict arrives
    assessor_result = set((work / "assessor_result.txt").read_text().splitlines(keepends=True))
    assert assessor_result == set(
        (work / "expected_assessor_result.txt").read_text().splitlines(keepends=True)
    )
    stopped = {row["parameters"]["x"] for row in rows if row["status"] == "EARLY_STOPPED"}
    assert stopped <= {1, 2, 3, 5, 7, 8} and stopped  # what the assessor asked to stop


@pytest.mark.slow
@pytest.mark.parametrize("config", ["tpe.yml", "evolution.yml", "grid.yml", "metis.yml"])
def test_multi_phase_trials_ask_again_and_again(tmp_path, config):
    _, rows = run_nni(tmp_path, "multi_phase", config)
    assert rows and all(row["status"] == "SUCCEEDED" for row in rows)
    rows = [row for row in rows if row["parameter_id"] is not None]  # a job may get none
    jobs = {row["trial_job_id"] for row in rows}
    if config == "grid.yml":
        # two grid points for two concurrent jobs: which job asks first is a race, but the grid
        # is handed out whole, each point once, and then every job hears it is exhausted
        assert sorted(row["parameters"]["test"] for row in rows) == [1, 100]
    else:
        # several configurations per job: the reports 0.0, 0.1, ... follow the job's asks
        assert len(rows) > len(jobs)
    for job in jobs:
        finals = [r["final_metric"] for r in rows if r["trial_job_id"] == job]
        assert finals == pytest.approx([0.1 * i for i in range(len(finals))])


def test_multi_thread_tuner_serves_a_child_while_it_waits_for_the_parent(tmp_path):
    _, rows = run_nni(tmp_path, "multi_thread", "config.yml")
    assert len(rows) == 4 and {row["status"] for row in rows} == {"SUCCEEDED"}
    by_id = {row["parameter_id"]: row["parameters"] for row in rows}
    assert by_id[0] == {"x": 0} and all(by_id[i] == {"x": 1} for i in (1, 2, 3))


def test_customized_nni_tuner_gets_nnis_calling_conventions(tmp_path):
    _, rows = run_nni(tmp_path, "customized", "config-v2.yml")
    assert len(rows) == 4 and {row["status"] for row in rows} == {"SUCCEEDED"}
    calls = [
        json.loads(line)
        for line in (tmp_path / "customized" / "tuner_calls.jsonl").read_text().splitlines()
    ]
    results = [c for c in calls if c["call"] == "receive_trial_result"]
    assert len(results) == 4
    for call in results:
        # the metric exactly as reported, a dict, as NNI hands it over
        assert set(call["value"]) == {"default", "trial"}
        assert call["reward"] == call["value"]["default"]
        assert call["kwargs"] == ["customized", "trial_job_id"]
    assert sorted(c["parameter_id"] for c in calls if c["call"] == "trial_end") == [0, 1, 2, 3]
    # NNI's exit hooks after a normal end, the tuner's first, once each and last
    assert [c["call"] for c in calls[-2:]] == ["tuner._on_exit", "assessor._on_exit"]
    assert not any("_on_error" in c["call"] for c in calls)


def test_a_failing_nni_tuner_ends_the_experiment_and_hears_on_error(tmp_path):
    proc, rows = run_nni(tmp_path, "customized", "config-failing-tuner.yml", returncode=1)
    assert "the tuner gives up" in proc.stderr
    calls = [
        json.loads(line)["call"]
        for line in (tmp_path / "customized" / "tuner_calls.jsonl").read_text().splitlines()
    ]
    assert [c for c in calls if "._on_" in c] == ["tuner._on_error", "assessor._on_error"]
    assert calls[-2:] == ["tuner._on_error", "assessor._on_error"]


def test_trial_side_import_nni_stays_light(tmp_path):
    code = (
        "import sys, nni, nni.utils\n"
        "heavy = {'numpy', 'torch', 'anyio', 'scipy'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "assert nni.get_next_parameter() == {'a': 1}\n"
        "assert nni.get_trial_id() == 'STANDALONE' and nni.get_sequence_id() == 0\n"
        "nni.report_final_result({'default': 0.5})\n"
    )
    env = {**os.environ, "PYTHONPATH": str(NNI_PATH), "ASYNCNNI_PARAMS": '{"a": 1}'}
    for key in ("ASYNCNNI_DISPATCHER", "ASYNCNNI_TRIAL_JOB_ID"):
        env.pop(key, None)
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "final result: {'default': 0.5}" in proc.stdout
