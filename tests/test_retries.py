"""Retries (max_trial_retries, retry_on_failure): the ledger's rules, and real trial
processes whose parameter set runs again with the same id and parameters."""

from __future__ import annotations

import logging
import os

import pytest

from asyncnni import Experiment
from asyncnni.catalog import export_rows
from asyncnni.dispatcher import Ledger
from asyncnni.store import open_reader

from .helpers import experiment_config


def _asked(ledger: Ledger, job_id: str, retry=None):
    job = ledger.register_job(job_id, retry)
    if retry is None:
        state = ledger.new_trial(job, 0).state
        state.parameters = {"x": 1}
        state.generated.set()
    return job


def test_a_lost_job_runs_its_set_again_up_to_the_limit_without_counting_as_a_job():
    ledger = Ledger(max_trial_jobs=1, max_retries=2)
    job = _asked(ledger, "a")
    state = job.current
    assert not ledger.can_start_job()
    ledger.job_ended("a")
    retry = ledger.retry_after(job, "FAILED", True, "node gone")
    assert retry is not None and retry.attempt == 1 and ledger.can_start_job()
    again = _asked(ledger, "b", ledger.next_retry())
    assert again.current is state and state.trial_job_id == "b" and state.index == 0
    assert ledger.jobs_started == 1 and ledger.next_sequence == 2
    assert ledger.parameters[state.parameter_id] is state  # waiters on it keep waiting
    ledger.job_ended("b")
    assert ledger.retry_after(again, "FAILED", True, "node gone").attempt == 2
    third = _asked(ledger, "c", ledger.next_retry())
    ledger.job_ended("c")
    assert ledger.retry_after(third, "FAILED", True, "node gone") is None  # limit reached
    assert third.current is state and not ledger.can_start_job()


@pytest.mark.parametrize(
    ("event", "lost", "retry_on_failure", "retried"),
    [
        ("FAILED", False, False, False),  # the trial's own failure
        ("FAILED", False, True, True),
        ("EARLY_STOPPED", False, True, False),
        ("USER_CANCELED", True, True, False),
    ],
)
def test_which_ends_are_retried(event, lost, retry_on_failure, retried):
    ledger = Ledger(max_retries=1, retry_on_failure=retry_on_failure)
    job = _asked(ledger, "a")
    ledger.job_ended("a")
    assert (ledger.retry_after(job, event, lost, "why") is not None) is retried


def test_a_set_with_its_final_result_or_without_parameters_is_not_retried():
    ledger = Ledger(max_retries=1)
    job = _asked(ledger, "a")
    ledger.final(job.current, 0.5, 0.5)
    ledger.job_ended("a")
    assert ledger.retry_after(job, "FAILED", True, "node gone") is None
    waiting = ledger.register_job("b")
    ledger.new_trial(waiting, 0)  # the tuner has not answered yet
    ledger.job_ended("b")
    assert ledger.retry_after(waiting, "FAILED", True, "node gone") is None


@pytest.mark.slow
@pytest.mark.parametrize("retry_on_failure", [True, False])
def test_a_failed_trial_runs_again_with_the_same_parameters_only_when_asked(
    tmp_path, monkeypatch, retry_on_failure
):
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv("ECHO_MODE", "fail_first_run")
    monkeypatch.setenv("ECHO_MARK_DIR", str(marks))
    config = experiment_config(
        tmp_path,
        max_trial_number=2,
        trial_concurrency=2,
        max_trial_retries=1,
        retry_on_failure=retry_on_failure,
    )
    result = Experiment(config).run()
    rows = export_rows(tmp_path / "experiments", result.experiment_id)
    failed = [row for row in rows if row["status"] == "FAILED"]
    succeeded = [row for row in rows if row["status"] == "SUCCEEDED"]
    assert result.status == "DONE" and len(failed) == 2
    with open_reader(result.folder) as store:
        retries = [e for e in store.events() if e["kind"] == "TRIAL_RETRY"]
    if not retry_on_failure:
        assert len(rows) == 2 and not succeeded and not retries
        assert all(row["retry"] is None for row in rows)
        return
    assert len(rows) == 4 and result.progress.succeeded == 2
    assert sorted(row["parameter_id"] for row in succeeded) == [0, 1]
    assert {e["trial_job_id"] for e in retries} == {row["trial_job_id"] for row in failed}
    for row in failed:
        assert "runs again as trial job" in row["retry"] and "exit code 3" in row["retry"]
    # each set ran twice with the same parameters: the marker of its first run is there
    assert sorted(os.listdir(marks)) == sorted(repr(row["parameters"]["x"]) for row in succeeded)


@pytest.mark.slow
def test_the_dispatcher_logs_a_running_trial_whose_connection_dropped(tmp_path, caplog):
    config = experiment_config(
        tmp_path, trial_command="python hang_up_trial.py", max_trial_number=1
    )
    with caplog.at_level(logging.WARNING, logger="asyncnni.dispatcher"):
        result = Experiment(config).run()
    assert result.status == "DONE" and result.progress.succeeded == 1
    dropped = [r for r in caplog.records if "connection to the dispatcher dropped" in r.message]
    assert len(dropped) == 1
