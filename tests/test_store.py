"""The SQLite store on its own: what it keeps, what it refuses twice, what resume reads back."""

from __future__ import annotations

import sqlite3

from asyncnni.store import Store, metric_row, open_readonly, parameter_row


def store_with_two_jobs(tmp_path) -> Store:
    store = Store(tmp_path)
    store.create_experiment(
        "e1",
        "demo",
        {"trial_command": "python t.py"},
        {"x": {"_type": "uniform", "_value": [0, 1]}},
    )
    store.add_trial_job("a", 0, str(tmp_path / "a"))
    store.add_trial_job("b", 1, str(tmp_path / "b"))
    store.add_parameters(
        [
            parameter_row(0, "a", 0, {"x": 0.5}, "algorithm"),
            parameter_row(1, "a", 1, {"x": 0.25}, "algorithm"),
        ]
    )
    store.commit()
    return store


def test_a_second_final_result_for_a_parameter_is_ignored_by_the_database(tmp_path):
    store = store_with_two_jobs(tmp_path)
    store.add_metrics(
        [
            metric_row("a", 0, "FINAL", 0, 0.9, 0.9),
            metric_row("a", 0, "FINAL", 3, 0.1, {"default": 0.1}),
        ]
    )
    store.commit()
    with sqlite3.connect(tmp_path / "experiment.db") as db:
        assert db.execute("SELECT value, raw FROM metrics WHERE type = 'FINAL'").fetchall() == [
            (0.9, "0.9")
        ]


def test_rows_per_job_and_parameter_set_including_jobs_that_never_asked(tmp_path):
    store = store_with_two_jobs(tmp_path)
    store.add_metrics([metric_row("a", 1, "FINAL", 0, 0.7, {"default": 0.7, "loss": 2})])
    store.end_trial_job("b", "FAILED", 127, "exit code 127")
    store.commit()
    rows = store.trial_rows()
    assert [
        (r["trial_job_id"], r["parameter_id"], r["parameters"], r["final_metric"]) for r in rows
    ] == [
        ("a", 0, {"x": 0.5}, None),
        ("a", 1, {"x": 0.25}, {"default": 0.7, "loss": 2}),
        ("b", None, {}, None),
    ]
    assert rows[2]["status"] == "FAILED" and rows[2]["message"] == "exit code 127"


def test_intermediate_results_come_back_in_sequence_order(tmp_path):
    store = store_with_two_jobs(tmp_path)
    store.add_metrics(
        [metric_row("a", 0, "PERIODICAL", seq, float(seq), float(seq)) for seq in (2, 0, 1)]
    )
    store.commit()
    assert store.intermediate_results(0) == [0.0, 1.0, 2.0]


def test_reopen_marks_jobs_left_running_as_failed_and_keeps_the_rest(tmp_path):
    store = store_with_two_jobs(tmp_path)
    store.end_trial_job("a", "SUCCEEDED", 0, None)
    store.set_experiment_status("ERROR", "killed", ended=True)
    store.close()
    reopened = open_readonly(tmp_path)
    assert reopened.next_parameter_id() == 2
    assert reopened.counted_configurations() == 3  # two parameter sets, and job b that never asked
    reopened.reopen()
    assert reopened.experiment()["status"] == "RUNNING"
    assert reopened.counts() == {"SUCCEEDED": 1, "FAILED": 1}
    assert reopened.experiment()["config"] == {"trial_command": "python t.py"}
    reopened.close()
