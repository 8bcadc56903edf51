"""Managing experiments by id: a detached run reached through its control channel (stop,
status, kill, update, log), the read-only commands, export/import and registered
algorithms. Real processes, real sockets, real stores."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import types
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from asyncnni import Experiment, control
from asyncnni.catalog import trial_table
from asyncnni.cli import app
from asyncnni.control import ControlServer, is_running, request, socket_path
from asyncnni.experiment import DEADLINE
from asyncnni.store import ExperimentRecord, open_reader, open_store

from .helpers import ASSETS, experiment_config

DEADLINE_S = 90.0


def wait_for(condition: Callable[[], object], what: str, timeout: float = DEADLINE_S):
    """Poll ``condition`` until it is true (no sleep stands in for synchronisation)."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def write_config(tmp_path: Path, **overrides) -> Path:
    config = {
        "search_space": {"x": {"_type": "uniform", "_value": [0, 1]}},
        "trial_command": "python waiting_trial.py",
        "trial_code_directory": str(ASSETS),
        "trial_concurrency": 2,
        "max_trial_number": 20,
        "tuner": {"name": "Random", "class_args": {"optimize_mode": "maximize", "seed": 1}},
        **overrides,
    }
    path = tmp_path / "exp.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


class Cli:
    """``asyncnni ...`` as a user types it: a process of its own."""

    def __init__(self, tmp_path: Path) -> None:
        self.home = tmp_path / "home"
        self.go = tmp_path / "go"
        self.go.mkdir()
        self.env = {**os.environ, "ASYNCNNI_HOME": str(self.home), "WAIT_DIR": str(self.go)}

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "asyncnni", *args]

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            self.command(*args), env=self.env, capture_output=True, text=True, timeout=180
        )
        if ok:
            assert done.returncode == 0, done.stdout + done.stderr
        return done

    def status(self, eid: str) -> dict:
        return json.loads(self("status", eid, "--json").stdout)

    def trials(self, eid: str) -> dict[str, dict]:
        return {
            row["trial_job_id"]: row for row in json.loads(self("trials", eid, "--json").stdout)
        }

    # what those commands read, in this process: for polling without a process per poll
    def live_status(self, eid: str) -> dict:
        return request(self.home / eid, "STATUS")

    def trial_status(self, eid: str, trial_job_id: str) -> str:
        rows = trial_table(self.home / eid)
        return next(row["status"] for row in rows if row["trial_job_id"] == trial_job_id)

    def release(self, trial_job_id: str) -> None:
        (self.go / trial_job_id).touch()


def stored_results(folder: Path) -> dict[int, tuple[list[float], object]]:
    """parameter id -> (its intermediate results, its final metric) as the store has them."""
    with open_reader(folder) as store:
        return {
            row["parameter_id"]: (
                store.intermediate_results(row["parameter_id"]),
                row["final_metric"],
            )
            for row in store.trial_rows()
            if row["parameter_id"] is not None
        }


@pytest.mark.slow
def test_a_detached_run_is_managed_by_id_and_stop_loses_nothing(tmp_path):
    cli = Cli(tmp_path)
    started = cli("run", str(write_config(tmp_path)), "--detach", "--id", "e1")
    assert "e1" in started.stdout and "asyncnni stop e1" in started.stdout
    folder = cli.home / "e1"
    assert is_running(folder)
    assert oct(socket_path(folder).stat().st_mode & 0o777) == "0o600"
    assert oct(socket_path(folder).parent.stat().st_mode & 0o777) == "0o700"

    # status: live from the observer, the running trials with their latest result
    status = wait_for(
        lambda: (
            (s := cli.live_status("e1"))["progress"]["running"] == 2
            and all(t["latest"] is not None for t in s["running"])
            and s
        ),
        "two running trials with an intermediate result",
    )
    assert status["status"] == "RUNNING" and status["limits"]["trial_concurrency"] == 2
    assert cli.status("e1")["running"] == status["running"]  # the command shows the same
    first, second = (t["trial_job_id"] for t in status["running"])

    # kill one trial job: it ends USER_CANCELED, the experiment goes on
    killed = cli("kill", "e1", first)
    assert "USER_CANCELED" in killed.stdout
    assert cli.trials("e1")[first]["status"] == "USER_CANCELED"
    assert f"trial {first} started" in cli("log", "e1", first).stdout
    refused = cli("kill", "e1", first, ok=False)
    assert refused.returncode == 1 and "is not running" in refused.stderr

    # update: the launcher reacts at once
    cli("update", "concurrency", "e1", "3")
    wait_for(lambda: cli.live_status("e1")["progress"]["running"] == 3, "three running trials")
    assert cli.status("e1")["limits"]["trial_concurrency"] == 3

    # one trial ends with a final result; what is stored now must survive the stop
    cli.release(second)
    wait_for(lambda: cli.trial_status("e1", second) == "SUCCEEDED", "a succeeded trial")
    before = stored_results(folder)
    assert before[cli.trials("e1")[second]["parameter_id"]][1] is not None

    follower = subprocess.Popen(
        cli.command("log", "e1", "-f"), env=cli.env, stdout=subprocess.PIPE, text=True
    )
    stopped = cli("stop", "e1")
    assert "experiment e1 stopped" in stopped.stdout
    assert not is_running(folder) and not socket_path(folder).exists()

    after = stored_results(folder)
    for parameter_id, (intermediate, final) in before.items():
        assert after[parameter_id][0][: len(intermediate)] == intermediate
        if final is not None:
            assert after[parameter_id][1] == final
    with open_reader(folder) as store:
        assert store.experiment()["status"] == "STOPPED"
        assert "RUNNING" not in store.counts()

    # log -f ended with the experiment, having printed its last words
    assert "experiment e1 STOPPED" in follower.communicate(timeout=60)[0]
    assert follower.returncode == 0

    # read-only views of the stopped experiment
    final = cli("status", "e1")
    assert "STOPPED" in final.stdout and "best" in final.stdout
    rows = json.loads(cli("trials", "e1", "--sort", "metric", "--json").stdout)
    assert rows[0]["trial_job_id"] == second
    assert cli("stop", "e1", ok=False).returncode == 1


@pytest.mark.slow
def test_create_serves_the_dashboard_while_it_runs_and_stop_all_ends_it(tmp_path):
    cli = Cli(tmp_path)
    started = cli("create", "--config", str(write_config(tmp_path)), "--port", "0", "--id", "e2")
    url = next(line.split()[-1] for line in started.stdout.splitlines() if "dashboard:" in line)
    with urllib.request.urlopen(f"{url}/api/v1/nni/check-status", timeout=30) as answer:
        assert json.load(answer)["status"] == "RUNNING"
    assert "experiment e2 stopped" in cli("stop", "--all").stdout
    assert "no experiment is running" in cli("stop", "--all").stdout


def test_a_stale_channel_is_said_to_be_not_running(tmp_path):
    home = tmp_path / "home"
    folder = home / "e3"
    store = open_store(folder)
    store.create_experiment(ExperimentRecord("e3", None, {"trial_concurrency": 1}, {}))
    store.commit()
    store.close()
    path = socket_path(folder)
    path.parent.mkdir(mode=0o700)
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(path))  # a socket file nobody listens on: its process died
    dead.close()
    runner = CliRunner()
    status = runner.invoke(app, ["status", "e3", "--working-dir", str(home)])
    assert status.exit_code == 0
    assert "experiment e3 is not running (its process is gone" in status.output
    stop = runner.invoke(app, ["stop", "e3", "--working-dir", str(home)])
    assert stop.exit_code == 1 and "experiment e3 is not running" in stop.output
    missing = runner.invoke(app, ["kill", "nope", "t", "--working-dir", str(home)])
    assert missing.exit_code == 2 and "no experiment 'nope'" in missing.output


def test_the_control_socket_binds_when_another_run_removes_the_shared_folder_meanwhile(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    folder = tmp_path / ("x" * 120) / "e4"  # too long for a socket name: the shared folder
    path = socket_path(folder)
    assert path.parent == tmp_path / "tmp" / f"asyncnni-{os.getuid()}"
    make_private = control._private_folder
    vanished = []

    def leaving_run_removes_it(shared: Path) -> None:
        make_private(shared)
        if not vanished:  # the last other experiment closes between our mkdir and bind
            shared.rmdir()
            vanished.append(shared)

    monkeypatch.setattr(control, "_private_folder", leaving_run_removes_it)
    server = ControlServer(types.SimpleNamespace(folder=folder, id="e4"))
    server.open()
    try:
        assert vanished and oct(path.stat().st_mode & 0o777) == "0o600"
    finally:
        server.close()
    assert not path.parent.exists()  # the last one out removes the shared folder


def run_in_thread(experiment: Experiment) -> tuple[threading.Thread, list]:
    results: list = []
    thread = threading.Thread(target=lambda: results.append(experiment.run()))
    thread.start()
    return thread, results


@pytest.mark.slow
def test_limits_change_while_it_runs(tmp_path, monkeypatch):
    go = tmp_path / "go"
    go.mkdir()
    monkeypatch.setenv("WAIT_DIR", str(go))
    config = experiment_config(
        tmp_path, trial_command="python waiting_trial.py", trial_concurrency=2
    )
    experiment = Experiment(config)
    thread, results = run_in_thread(experiment)
    wait_for(lambda: experiment.progress.running == 2, "two running trials")
    with pytest.raises(ValueError, match="positive integer"):
        experiment.set_trial_concurrency(0)
    experiment.set_max_trial_number(3)
    experiment.set_trial_concurrency(3)
    wait_for(lambda: experiment.progress.started == 3, "a third trial")
    for trial_job_id in experiment.running_trials()[:1]:
        (go / trial_job_id).touch()
    wait_for(lambda: experiment.progress.succeeded == 1, "one finished trial")
    assert experiment.progress.started == 3  # max_trial_number 3: nothing more started
    experiment.set_max_experiment_duration(1e-3)  # long past: it ends now
    thread.join(DEADLINE_S)
    (result,) = results
    assert result.status == "DONE" and result.message == DEADLINE
    assert result.progress.started == 3 and result.progress.canceled == 2


RECORDING_TUNER = {
    "class_name": "ImportRecordingTuner",
    "code_directory": str(ASSETS),
    "class_file_name": "import_recording_tuner.py",
}


def test_export_then_import_feeds_the_tuner_when_it_resumes(tmp_path):
    home = tmp_path / "experiments"
    record = tmp_path / "imported.txt"
    tuner = {**RECORDING_TUNER, "class_args": {"record_to": str(record)}}
    config = experiment_config(tmp_path, max_trial_number=2, trial_concurrency=2, tuner=tuner)
    Experiment(config, experiment_id="e4").run()
    runner = CliRunner()
    exported = tmp_path / "e4.json"
    args = ["--working-dir", str(home)]
    result = runner.invoke(app, ["experiment", "export", "e4", "--filename", str(exported), *args])
    assert result.exit_code == 0, result.output
    records = json.loads(exported.read_text())
    assert len(records) == 2 and {"parameter", "value", "trialJobId"} <= set(records[0])
    as_csv = tmp_path / "e4.csv"
    result = runner.invoke(
        app, ["experiment", "export", "e4", "-f", str(as_csv), "--type", "csv", *args]
    )
    assert as_csv.read_text().splitlines()[0] == "x,reward,trialJobId"

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"parameter": {"x": 0.1}, "value": "high"}]))
    result = runner.invoke(app, ["experiment", "import", "e4", "--filename", str(bad), *args])
    assert result.exit_code == 2 and "item 0: 'value' must be a finite number" in result.output

    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps([{"parameter": {"x": 0.25}, "value": 0.125}]))
    result = runner.invoke(app, ["experiment", "import", "e4", "--filename", str(extra), *args])
    assert result.exit_code == 0 and "when it runs again" in result.output
    Experiment.resume("e4", home, max_trial_number=3).run()
    fed = record.read_text().split()
    assert len(fed) == 3 and fed[-1] == "0.125"  # the two stored results, then the import


DEMO_TUNER = """
from asyncnni import Tuner


class DemoTuner(Tuner):
    def __init__(self, x=0.5):
        self.x = x

    async def generate_parameters(self, parameter_id, **info):
        return {"x": self.x}


class DemoValidator:
    def validate_class_args(self, **class_args):
        if not 0 <= class_args.get("x", 0.5) <= 1:
            raise ValueError("x must be in [0, 1]")
"""


def test_a_registered_tuner_is_found_by_its_name(tmp_path, monkeypatch):
    package = tmp_path / "userpkg"
    package.mkdir()
    (package / "demo_tuner_mod.py").write_text(DEMO_TUNER)
    monkeypatch.syspath_prepend(str(package))
    monkeypatch.setenv("ASYNCNNI_HOME", str(tmp_path / "home"))
    meta = tmp_path / "meta.yml"
    meta.write_text(
        "algoType: tuner\nbuiltinName: demotuner\nclassName: demo_tuner_mod.DemoTuner\n"
        "classArgsValidator: demo_tuner_mod.DemoValidator\n"
    )
    runner = CliRunner()
    registered = runner.invoke(app, ["algo", "register", "--meta", str(meta)])
    assert registered.exit_code == 0, registered.output
    assert (tmp_path / "home" / "registered_algorithms.yml").is_file()
    listed = runner.invoke(app, ["algo", "list"])
    assert "demotuner" in listed.output and "registered" in listed.output
    again = runner.invoke(app, ["algo", "register", "--meta", str(meta)])
    assert again.exit_code == 2 and "registered already" in again.output
    builtin = tmp_path / "builtin.yml"
    builtin.write_text("algoType: tuner\nbuiltinName: TPE\nclassName: demo_tuner_mod.DemoTuner\n")
    taken = runner.invoke(app, ["algo", "register", "--meta", str(builtin)])
    assert taken.exit_code == 2 and "built-in tuner's name" in taken.output

    config = experiment_config(
        tmp_path, max_trial_number=2, tuner={"name": "DemoTuner", "class_args": {"x": 0.25}}
    )
    result = Experiment(config, experiment_id="e5").run()
    assert result.status == "DONE" and result.best.parameters == {"x": 0.25}
    refused = Experiment(
        experiment_config(tmp_path, tuner={"name": "demotuner", "class_args": {"x": 3}}),
        experiment_id="e6",
    )
    with pytest.raises(Exception, match="x must be in"):
        refused.run()

    assert runner.invoke(app, ["algo", "unregister", "demotuner"]).exit_code == 0
    assert "demotuner" not in runner.invoke(app, ["algo", "list"]).output


def test_the_end_of_a_run_names_the_best_trial_and_how_to_see_more(tmp_path):
    config = write_config(
        tmp_path, max_trial_number=2, experiment_working_directory=str(tmp_path / "home")
    )
    result = CliRunner().invoke(app, ["run", str(config), "--id", "e7", "--quiet"])
    assert result.exit_code == 0, result.output
    best = next(line for line in result.output.splitlines() if line.strip().startswith("best"))
    assert '{"x": ' in best and "(trial " in best
    assert "asyncnni trials e7 --sort metric" in result.output
    assert "asyncnni view e7" in result.output


@pytest.mark.parametrize("chosen", [None, "2"])
def test_the_experiment_process_loads_numpy_with_one_blas_thread_and_trials_keep_theirs(chosen):
    code = (
        "import json, os, threadpoolctl; from asyncnni.cli import numpy_with_one_blas_thread; "
        "numpy_with_one_blas_thread(); "
        "blas = [p['num_threads'] for p in threadpoolctl.threadpool_info() "
        "if p['internal_api'] == 'openblas']; "
        "print(json.dumps([blas, os.environ.get('OPENBLAS_NUM_THREADS')]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if chosen is not None:  # the user's own choice stands
        env["OPENBLAS_NUM_THREADS"] = chosen
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    blas, left = json.loads(done.stdout)
    assert blas and set(blas) == {int(chosen or 1)}
    assert left == chosen  # what trials inherit is the environment as it was
