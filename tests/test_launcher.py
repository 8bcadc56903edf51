"""The fork launcher: trial jobs forked from a template process that imported them."""

from __future__ import annotations

import json

import pytest

from asyncnni import Experiment
from asyncnni.catalog import export_rows
from asyncnni.errors import ConfigError
from asyncnni.training.launcher import ForkCommand, fork_command

from .helpers import ASSETS, experiment_config, process_is_gone, template_processes


def forked(
    tmp_path, monkeypatch, mode="ok", preload=("json_preload_probe",), launcher="fork", **overrides
):
    monkeypatch.setenv("FORKED_MODE", mode)
    monkeypatch.setenv("FORKED_MARKER", "from-the-environment")
    config = experiment_config(
        tmp_path,
        trial_command="python forked_trial.py --flag 'two words'",
        training_service={
            "platform": "local",
            "trial_launcher": {"mode": launcher, "preload": list(preload)},
        },
        **overrides,
    )
    experiment = Experiment(config)
    result = experiment.run()
    rows = {
        row["trial_job_id"]: row for row in export_rows(experiment.folder.parent, experiment.id)
    }
    seen = {
        job: json.loads((experiment.folder / "trials" / job / "seen.json").read_text())
        for job in rows
    }
    return experiment, result, rows, seen


def log_of(experiment, job):
    return (experiment.folder / "trials" / job / "trial.log").read_text()


def test_a_forked_trial_gets_its_own_environment_cwd_argv_and_process_group(tmp_path, monkeypatch):
    experiment, result, rows, seen = forked(
        tmp_path, monkeypatch, max_trial_number=4, trial_concurrency=2
    )
    assert result.status == "DONE" and result.progress.succeeded == 4
    assert {row["status"] for row in rows.values()} == {"SUCCEEDED"}
    code_dir = experiment.config.trial_code_directory
    for job, info in seen.items():
        assert info["job"] == job  # its own ASYNCNNI_* variables
        assert info["marker"] == "from-the-environment"
        assert info["argv"] == ["forked_trial.py", "--flag", "two words"]
        assert info["cwd"] == str(code_dir) and info["sys_path0"] == str(code_dir)
        assert info["main"] == "__main__"
        assert info["preloaded"], "the template imported the preload modules"
        assert info["pgid"] == info["pid"] == info["sid"], "its own session and process group"
        assert f"hello from {job}" in log_of(experiment, job)
    assert len({info["pid"] for info in seen.values()}) == 4
    assert "trials start plain" not in (experiment.folder / "experiment.log").read_text()


def test_a_trial_that_crashes_in_the_forked_launcher_is_failed_with_its_traceback(
    tmp_path, monkeypatch
):
    experiment, result, rows, _ = forked(
        tmp_path, monkeypatch, mode="crash", max_trial_number=2, trial_concurrency=2
    )
    assert result.status == "DONE" and result.progress.failed == 2
    for job, row in rows.items():
        assert row["status"] == "FAILED"
        assert row["message"] == "exit code 1: ValueError: forked trial broke"
        log = log_of(experiment, job)
        assert "Traceback (most recent call last)" in log
        assert 'forked_trial.py", line' in log


def test_a_forked_trial_keeps_its_exit_code(tmp_path, monkeypatch):
    _, result, rows, _ = forked(tmp_path, monkeypatch, mode="exit", max_trial_number=1)
    (row,) = rows.values()
    assert row["status"] == "FAILED" and row["message"].startswith("exit code 7")


@pytest.mark.parametrize("launcher", ["plain", "fork"])
@pytest.mark.parametrize(
    "mode, status, message",
    [
        ("exit-message", "FAILED", "exit code 1: a message for stderr"),
        # the interpreter ends itself by SIGINT; the shell of a plain start says so as 128 + 2
        ("interrupt", "FAILED", {"plain": "exit code 130", "fork": "killed by signal 2"}),
        ("ending", "SUCCEEDED", None),
    ],
)
def test_a_forked_trial_ends_as_a_plain_one(tmp_path, monkeypatch, launcher, mode, status, message):
    experiment, _, rows, _ = forked(
        tmp_path, monkeypatch, mode=mode, launcher=launcher, max_trial_number=1
    )
    ((job, row),) = rows.items()
    if isinstance(message, dict):
        message = f"{message[launcher]}: KeyboardInterrupt"
    assert (row["status"], row["message"]) == (status, message)
    if mode == "ending":  # its threads ended, its atexit ran, its open file was flushed
        trial_dir = experiment.folder / "trials" / job
        names = ("thread.txt", "pool.txt", "atexit.txt")
        written = {name: (trial_dir / name).read_text() for name in names}
        assert written == {"thread.txt": "joined", "pool.txt": "done", "atexit.txt": "ran"}
        assert (trial_dir / "left-open.txt").read_text() == "flushed"


def test_a_kill_ends_a_forked_trial(tmp_path, monkeypatch):
    _, result, rows, seen = forked(
        tmp_path, monkeypatch, mode="sleep", max_trial_number=1, max_trial_duration=3
    )
    (row,) = rows.values()
    assert row["status"] == "FAILED"
    assert "killed after max_trial_duration" in row["message"]
    (info,) = seen.values()
    assert process_is_gone(info["pid"])


def test_a_template_that_is_not_safe_to_fork_starts_trials_plain(tmp_path, monkeypatch):
    experiment, result, rows, seen = forked(
        tmp_path, monkeypatch, preload=("thread_preload_probe",), max_trial_number=2
    )
    assert result.status == "DONE" and result.progress.succeeded == 2
    log = (experiment.folder / "experiment.log").read_text()
    assert "trials start plain" in log and "probe-sleeper" in log


def test_the_templates_own_output_goes_to_launcher_log(tmp_path, monkeypatch):
    experiment, result, _, _ = forked(
        tmp_path, monkeypatch, preload=("noisy_preload_probe",), max_trial_number=1
    )
    assert result.status == "DONE" and result.progress.succeeded == 1
    log = (experiment.folder / "launcher.log").read_text()
    assert "the noisy probe was imported" in log


def test_the_template_starts_before_the_tuner_is_set_up(tmp_path, monkeypatch):
    record = tmp_path / "templates.json"
    tuner = {
        "code_directory": str(ASSETS),
        "class_file_name": "template_seeing_tuner.py",
        "class_name": "TemplateSeeingTuner",
        "class_args": {"record": str(record)},
    }
    _, result, _, _ = forked(tmp_path, monkeypatch, tuner=tuner, max_trial_number=1)
    assert result.status == "DONE" and result.progress.succeeded == 1
    assert len(json.loads(record.read_text())) == 1, "the template ran while the tuner was made"
    assert template_processes() == []


@pytest.mark.parametrize("class_name", ["InitFails", "SpaceFails"])
def test_a_run_refused_by_its_tuner_leaves_no_template_and_no_folder(tmp_path, class_name):
    from asyncnni.errors import PluginError

    tuner = {
        "code_directory": str(ASSETS),
        "class_file_name": "failing_tuner.py",
        "class_name": class_name,
    }
    config = experiment_config(
        tmp_path,
        tuner=tuner,
        training_service={"platform": "local", "trial_launcher": {"mode": "fork", "preload": []}},
    )
    experiment = Experiment(config)
    with pytest.raises(PluginError):
        experiment.run()
    assert template_processes() == []
    assert not experiment.folder.exists()


def test_an_unknown_preload_module_is_refused_before_anything_starts(tmp_path):
    config = experiment_config(
        tmp_path,
        training_service={
            "platform": "local",
            "trial_launcher": {"mode": "fork", "preload": ["no_such_module_here"]},
        },
    )
    with pytest.raises(ConfigError, match="no_such_module_here"):
        Experiment(config).run()
    assert not (tmp_path / "experiments").exists() or not any((tmp_path / "experiments").iterdir())


@pytest.mark.parametrize(
    "command, expected",
    [
        ("python model.py --lr 0.1", ForkCommand(["model.py", "--lr", "0.1"], module=False)),
        ("python3 -u 'my model.py'", ForkCommand(["my model.py"], module=False)),
        ("python -m pkg.train a", ForkCommand(["pkg.train", "a"], module=True)),
        ("cd x && python model.py", "it uses shell syntax"),
        ("python model.py > out.txt", "it uses shell syntax"),
        ("FOO=1 python model.py", "it does not start with python"),
        ("bash run.sh", "it does not start with python"),
        (
            "python -c pass",
            "only `python script.py ...` and `python -m module ...` can be forked",
        ),
    ],
)
def test_which_trial_commands_can_be_forked(command, expected):
    assert fork_command(command) == expected
