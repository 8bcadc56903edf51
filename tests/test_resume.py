"""Resuming experiments from their store: after a finish, and after the process was killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from asyncnni import Experiment
from asyncnni.catalog import export_rows
from asyncnni.errors import ConfigError

from .helpers import ASSETS, experiment_config, process_is_gone


def recording_tuner(record_to) -> dict:
    return {
        "code_directory": str(ASSETS),
        "class_file_name": "import_recording_tuner.py",
        "class_name": "ImportRecordingTuner",
        "class_args": {"record_to": str(record_to)},
    }


def test_resume_runs_more_trials_with_new_ids_and_warm_starts_the_tuner(tmp_path):
    config = experiment_config(
        tmp_path,
        max_trial_number=4,
        trial_concurrency=2,
        tuner=recording_tuner(tmp_path / "imported.txt"),
    )
    first = Experiment(config, experiment_id="again").run()
    assert first.status == "DONE"
    resumed = Experiment.resume("again", tmp_path / "experiments", max_trial_number=7)
    result = resumed.run()
    rows = export_rows(tmp_path / "experiments", "again")
    assert (
        result.status == "DONE" and result.progress.started == 7 and result.progress.succeeded == 7
    )
    assert sorted(row["parameter_id"] for row in rows) == list(range(7))
    assert len({row["trial_job_id"] for row in rows}) == 7
    imported = (tmp_path / "imported.txt").read_text().split()
    assert sorted(map(float, imported)) == sorted(row["final_metric"] for row in rows[:4])
    assert result.progress.best == max(row["final_metric"] for row in rows)


def test_resume_of_a_missing_experiment_raises_lookup_error(tmp_path):
    with pytest.raises(LookupError, match="no experiment .ghost."):
        Experiment.resume("ghost", tmp_path)


def test_running_an_existing_id_points_to_resume(tmp_path):
    config = experiment_config(tmp_path, max_trial_number=1)
    Experiment(config, experiment_id="twice").run()
    with pytest.raises(ConfigError, match="asyncnni resume twice"):
        Experiment(config, experiment_id="twice").run()


def test_resume_after_the_experiment_process_was_killed(tmp_path):
    home = tmp_path / "home"
    exp = tmp_path / "exp.yaml"
    exp.write_text(
        f"search_space: {{x: {{_type: uniform, _value: [0, 1]}}}}\ntrial_command: python echo_trial.py\n"
        f"trial_code_directory: {ASSETS}\ntrial_concurrency: 2\nmax_trial_number: 4\ntuner: {{name: Random}}\n"
    )
    go = tmp_path / "go"
    env = {
        **os.environ,
        "ASYNCNNI_HOME": str(home),
        "ECHO_MODE": "report_when_told",
        "ECHO_GO_FILE": str(go),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "asyncnni", "run", str(exp), "--id", "crashed", "-q"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    pids = home / "crashed" / "trials"
    deadline = time.monotonic() + 60
    while len(list(pids.glob("*/pid"))) < 2:  # both trials started
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(
        process.pid, signal.SIGKILL
    )  # the experiment dies; its trials, in sessions of their own, do not
    process.wait(timeout=30)
    go.touch()  # now they report, and nobody answers: they must notice and exit by themselves
    for pid_file in pids.glob("*/pid"):
        pid = int(pid_file.read_text())
        deadline = time.monotonic() + 30
        while not process_is_gone(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process_is_gone(pid), "an orphaned trial still waits on a dead experiment"
    logs = [path.read_text() for path in pids.glob("*/trial.log")]
    assert all("lost the experiment: no connection to its dispatcher" in log for log in logs)

    before = {row["trial_job_id"]: row for row in export_rows(home, "crashed")}
    result = Experiment.resume("crashed", home).run()
    rows = export_rows(home, "crashed")
    interrupted = [row for row in rows if row["status"] == "FAILED"]
    succeeded = [row for row in rows if row["status"] == "SUCCEEDED"]
    # the interrupted parameter sets ran again, in new jobs that max_trial_number leaves out
    assert result.status == "DONE" and result.progress.succeeded == 4 and len(rows) == 6
    assert len(interrupted) == 2 and all("interrupted" in row["message"] for row in interrupted)
    assert sorted(row["parameter_id"] for row in succeeded) == [0, 1, 2, 3]
    by_id = {row["parameter_id"]: row for row in succeeded}
    for row in interrupted:
        retried = before[row["trial_job_id"]]
        again = by_id[retried["parameter_id"]]
        assert again["trial_job_id"] != row["trial_job_id"]
        assert again["parameters"] == retried["parameters"]
        assert row["parameter_id"] is None  # the set moved to the job that ran it again
        assert f"runs again as trial job {again['trial_job_id']}" in row["retry"]
