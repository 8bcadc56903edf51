"""Whole experiments with real trial subprocesses, sockets and the SQLite store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from asyncnni import Experiment
from asyncnni.catalog import export_rows, stored_status, trial_table
from asyncnni.store import open_reader

from .helpers import ASSETS, experiment_config, process_is_gone


def run(tmp_path, monkeypatch=None, env=None, **overrides):
    if env and monkeypatch:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
    experiment = Experiment(experiment_config(tmp_path, **overrides))
    result = experiment.run()
    return experiment, result, export_rows(experiment.folder.parent, experiment.id)


def test_twenty_trials_at_concurrency_four_all_land_in_the_store(tmp_path):
    experiment, result, rows = run(tmp_path)
    assert result.status == "DONE" and result.progress.succeeded == 20
    assert len(rows) == 20 and {row["status"] for row in rows} == {"SUCCEEDED"}
    assert sorted(row["parameter_id"] for row in rows) == list(range(20))
    for row in rows:
        assert row["final_metric"] == pytest.approx(row["parameters"]["x"])
        assert row["parameter_index"] == 0
    store = open_reader(experiment.folder)
    try:
        assert store.intermediate_results(rows[0]["parameter_id"]) == pytest.approx(
            [0, rows[0]["parameters"]["x"], 2 * rows[0]["parameters"]["x"]]
        )
        assert store.experiment()["status"] == "DONE"
    finally:
        store.close()
    assert result.progress.best == max(row["final_metric"] for row in rows)
    assert not list(experiment.folder.glob("*.sock")), "the ipc socket file is removed"


def test_a_stored_run_is_ranked_in_the_direction_its_tuner_resolved(tmp_path):
    # TPE minimizes unless told otherwise (NNI's default); readers of the stored run that see
    # only the config, with no optimize_mode in it, must rank as the run did
    tpe = {"name": "TPE", "class_args": {"seed": 1}}
    experiment, result, rows = run(tmp_path, tuner=tpe, max_trial_number=6)
    lowest = min(row["final_metric"] for row in rows)
    assert result.progress.best == lowest
    assert stored_status(experiment.folder)["best"]["value"] == lowest
    assert trial_table(experiment.folder, sort="metric")[0]["metric"] == lowest


def test_crashing_trials_are_failed_and_the_experiment_goes_on(tmp_path, monkeypatch):
    _, result, rows = run(
        tmp_path, monkeypatch, env={"ECHO_MODE": "crash_every_third"}, max_trial_number=9
    )
    failed = [row for row in rows if row["status"] == "FAILED"]
    assert result.status == "DONE" and len(rows) == 9 and len(failed) == 3
    assert all(
        row["final_metric"] is None and row["message"].startswith("exit code 3") for row in failed
    )
    assert all(row["final_metric"] is not None for row in rows if row["status"] == "SUCCEEDED")


def test_a_command_that_does_not_exist_fails_each_trial_and_the_experiment_ends(tmp_path):
    _, result, rows = run(
        tmp_path, trial_command="no-such-command-anywhere", max_trial_number=3, trial_concurrency=2
    )
    assert result.status == "DONE" and result.progress.failed == 3
    assert [row["parameters"] for row in rows] == [{}, {}, {}]
    assert all(row["status"] == "FAILED" and "exit code 127" in row["message"] for row in rows)


def test_max_trial_duration_kills_overdue_trials(tmp_path, monkeypatch):
    experiment, result, rows = run(
        tmp_path,
        monkeypatch,
        env={"ECHO_MODE": "hang"},
        max_trial_number=2,
        trial_concurrency=2,
        max_trial_duration="1s",
    )
    assert result.status == "DONE"
    assert all(
        row["status"] == "FAILED" and "max_trial_duration (1s)" in row["message"] for row in rows
    )
    for pid_file in experiment.folder.glob("trials/*/pid"):
        assert process_is_gone(int(pid_file.read_text()))


def test_a_failing_tuner_ends_the_experiment_with_its_error(tmp_path):
    tuner = {
        "code_directory": str(ASSETS),
        "class_file_name": "failing_tuner.py",
        "class_name": "BrokenTuner",
    }
    _, result, rows = run(tmp_path, tuner=tuner, trial_concurrency=1, max_trial_number=10)
    assert (
        result.status == "ERROR"
        and "BrokenTuner.generate_parameters(2) failed: ZeroDivisionError" in result.message
    )
    assert [row["final_metric"] for row in rows[:2]] == [0.0, 1.0], (
        "results before the failure are kept"
    )


def _cli(*args, cwd, env_extra=None, **kwargs):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "asyncnni", *args],
        cwd=cwd,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def _write_yaml(tmp_path, body: str):
    path = tmp_path / "exp.yaml"
    path.write_text(body)
    return path


def test_cli_refuses_a_bad_config_with_file_line_and_key(tmp_path):
    path = _write_yaml(
        tmp_path,
        f"search_space: {{x: {{_type: uniform, _value: [0, 1]}}}}\ntrial_command: python echo_trial.py\n"
        f"trial_code_directory: {ASSETS}\ntrial_concurency: 2\ntuner: {{name: Random}}\n",
    )
    process = _cli(
        "run", str(path), cwd=tmp_path, env_extra={"ASYNCNNI_HOME": str(tmp_path / "home")}
    )
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "exp.yaml:4:1" in err and "trial_concurency" in err and "Traceback" not in err
    assert not (tmp_path / "home").exists(), "nothing starts for a bad config"


def test_cli_run_list_and_export(tmp_path):
    home = tmp_path / "home"
    path = _write_yaml(
        tmp_path,
        f"search_space: {{x: {{_type: choice, _value: [1, 2, 3]}}}}\ntrial_command: python echo_trial.py\n"
        f"trial_code_directory: {ASSETS}\ntrialConcurrency: 2\nmaxTrialNumber: 4\ntuner: {{name: Random}}\n",
    )
    env = {"ASYNCNNI_HOME": str(home)}
    process = _cli("run", str(path), "--id", "exp1", cwd=tmp_path, env_extra=env)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "exp1" in err and "DONE" in err
    listing = _cli("list", cwd=tmp_path, env_extra=env)
    out, _ = listing.communicate(timeout=60)
    assert "exp1" in out and "DONE" in out
    export = _cli("export", "exp1", "--format", "csv", cwd=tmp_path, env_extra=env)
    out, _ = export.communicate(timeout=60)
    lines = out.strip().splitlines()
    assert (
        lines[0] == "trial_job_id,parameter_id,parameter_index,status,final_metric,x"
        and len(lines) == 5
    )
    missing = _cli("export", "nope", cwd=tmp_path, env_extra=env)
    _, err = missing.communicate(timeout=60)
    assert missing.returncode == 2 and "no experiment 'nope'" in err


def test_ctrl_c_stops_the_experiment_cleanly(tmp_path):
    home = tmp_path / "home"
    path = _write_yaml(
        tmp_path,
        f"search_space: {{x: {{_type: uniform, _value: [0, 1]}}}}\ntrial_command: python echo_trial.py\n"
        f"trial_code_directory: {ASSETS}\ntrial_concurrency: 2\ntuner: {{name: Random}}\n",
    )
    process = _cli(
        "run",
        str(path),
        "--id",
        "stopme",
        cwd=tmp_path,
        env_extra={"ASYNCNNI_HOME": str(home), "ECHO_MODE": "hang"},
    )
    trials = home / "stopme" / "trials"
    # wait until both trials are running (each writes its pid first thing)
    deadline = time.monotonic() + 60
    while len(list(trials.glob("*/pid"))) < 2:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "STOPPED" in err
    rows = export_rows(home, "stopme")
    assert len(rows) == 2 and {row["status"] for row in rows} == {"USER_CANCELED"}
    for pid_file in trials.glob("*/pid"):
        assert process_is_gone(int(pid_file.read_text()))


@pytest.mark.parametrize("signals", [1, 2])
def test_ctrl_c_stops_an_experiment_whose_plain_tuner_blocks_its_thread(tmp_path, signals):
    # NNI-style threaded tuner, serial mode: the second request blocks the tuner's thread for
    # good. A stop must still end the process (abandoning that thread) and store STOPPED; a
    # second Ctrl-C only hurries it.
    home, blocked = tmp_path / "home", tmp_path / "blocked"
    path = _write_yaml(
        tmp_path,
        f"search_space: {{x: {{_type: uniform, _value: [0, 1]}}}}\ntrial_command: python echo_trial.py\n"
        f"trial_code_directory: {ASSETS}\ntrial_concurrency: 2\nmultiThread: false\n"
        f"tuner: {{code_directory: {ASSETS}, class_file_name: blocking_tuner.py, "
        f"class_name: BlockingTuner, class_args: {{blocked: {blocked}}}}}\n",
    )
    process = _cli(
        "run", str(path), "--id", "blocked", cwd=tmp_path, env_extra={"ASYNCNNI_HOME": str(home)}
    )
    deadline = time.monotonic() + 60
    while not blocked.exists():  # the tuner's thread is stuck from now on
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    for _ in range(signals):
        process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "STOPPED" in err and "Traceback" not in err
    with open_reader(home / "blocked") as store:
        record = store.experiment()
    assert record["status"] == "STOPPED" and record["message"] == "interrupted by SIGINT"


def test_a_tuner_refused_at_set_up_is_reported_before_anything_is_announced(tmp_path):
    home = tmp_path / "home"
    path = _write_yaml(
        tmp_path,
        "search_space: {x: {_type: choice, _value: [1, 2]}}\ntrial_command: python t.py\n"
        "tuner: {name: TPE, class_args: {no_such_argument: 1}}\n",
    )
    done = _cli(
        "run", str(path), "--id", "refused", cwd=tmp_path, env_extra={"ASYNCNNI_HOME": str(home)}
    )
    _, err = done.communicate(timeout=60)
    assert done.returncode == 2 and "no_such_argument" in err
    assert "experiment refused in" not in err and not (home / "refused").exists()


def test_standalone_trial_mode_uses_params_and_prints_results(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCNNI_")}
    env["ASYNCNNI_TRIAL_DIR"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "echo_trial.py", "--params", '{"x": 0.25}'],
        cwd=ASSETS,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "intermediate result: 0.25" in out and "final result: 0.25" in out


def test_importing_asyncnni_in_a_trial_loads_only_the_client():
    code = (
        "import sys, asyncnni; asyncnni.get_next_parameter; "
        "print(sorted(m for m in ('numpy','scipy','torch','rich','typer','ruamel','anyio') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.strip() == "[]"


def test_a_trial_connecting_loads_no_more_than_its_client(tmp_path):
    # every trial job pays for each module its client imports: dataclasses (with inspect
    # and ast) and pathlib would be a fifth of it
    code = (
        "import sys, asyncnni.trial; asyncnni.trial._client(); "
        "print(sorted(m for m in ('numpy','asyncio','anyio','dataclasses','pathlib') "
        "if m in sys.modules), 'zmq' in sys.modules)"
    )
    env = {
        **os.environ,
        "ASYNCNNI_DISPATCHER": f"ipc://{tmp_path}/nobody.sock",
        "ASYNCNNI_TRIAL_JOB_ID": "t0",
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert out.strip() == "[] True"


def test_a_trial_using_the_async_api(tmp_path):
    _, result, rows = run(
        tmp_path, trial_command="python async_trial.py", max_trial_number=3, trial_concurrency=3
    )
    assert result.status == "DONE" and len(rows) == 3
    assert all(row["final_metric"] == pytest.approx(row["parameters"]["x"]) for row in rows)


def test_stop_from_another_thread_ends_the_experiment(tmp_path, monkeypatch):
    import threading
    import time

    monkeypatch.setenv("ECHO_MODE", "hang")
    experiment = Experiment(experiment_config(tmp_path, max_trial_number=2, trial_concurrency=2))

    def stop_when_both_run() -> None:
        deadline = time.monotonic() + 60
        while len(list(experiment.folder.glob("trials/*/pid"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        experiment.stop("stopped from a thread")

    stopper = threading.Thread(target=stop_when_both_run)
    stopper.start()
    result = experiment.run()
    stopper.join()
    rows = export_rows(experiment.folder.parent, experiment.id)
    assert result.status == "STOPPED" and result.message == "stopped from a thread"
    assert {row["status"] for row in rows} == {"USER_CANCELED"}


@pytest.mark.parametrize(
    "class_name, words",
    [
        (
            "InitFails",
            "tuner InitFails: constructing it failed: RuntimeError: no GPU for the tuner",
        ),
        ("SpaceFails", "tuner SpaceFails.update_search_space failed: KeyError: 'lr'"),
    ],
)
def test_a_tuner_that_fails_to_set_up_is_a_clear_error_before_anything_exists(
    tmp_path, class_name, words
):
    from asyncnni.errors import PluginError

    tuner = {
        "code_directory": str(ASSETS),
        "class_file_name": "failing_tuner.py",
        "class_name": class_name,
    }
    experiment = Experiment(experiment_config(tmp_path, tuner=tuner))
    with pytest.raises(PluginError) as err:
        experiment.run()
    assert words in str(err.value)
    assert not experiment.folder.exists()
