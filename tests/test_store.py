"""The SQLite store on its own: what it keeps, what it refuses twice, what resume reads back,
and the read-only reader beside a running writer."""

from __future__ import annotations

import sqlite3

import pytest

from asyncnni.store import (
    SCHEMA_VERSION,
    Event,
    ExperimentRecord,
    JobEnd,
    JobStart,
    Metric,
    ParameterSet,
    SchemaError,
    Store,
    find_experiments,
    open_reader,
    open_store,
)


def store_with_two_jobs(tmp_path) -> Store:
    store = open_store(tmp_path)
    store.create_experiment(
        ExperimentRecord(
            "e1",
            "demo",
            {"trial_command": "python t.py"},
            {"x": {"_type": "uniform", "_value": [0, 1]}},
        )
    )
    store.add_job_start(JobStart("a", 0, str(tmp_path / "a")))
    store.add_job_start(JobStart("b", 1, str(tmp_path / "b")))
    store.add_parameter_sets(
        [
            ParameterSet(0, "a", 0, {"x": 0.5}, "algorithm"),
            ParameterSet(1, "a", 1, {"x": 0.25}, "algorithm"),
        ]
    )
    store.commit()
    return store


def test_a_new_store_is_a_wal_file_whose_writer_syncs_normally(tmp_path):
    store = open_store(tmp_path)
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    store.close()
    with sqlite3.connect(tmp_path / "experiment.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_second_final_result_for_a_parameter_is_ignored_by_the_database(tmp_path):
    store = store_with_two_jobs(tmp_path)
    store.add_metrics(
        [Metric("a", 0, "FINAL", 0, 0.9, 0.9), Metric("a", 0, "FINAL", 3, 0.1, {"default": 0.1})]
    )
    store.commit()
    with sqlite3.connect(tmp_path / "experiment.db") as db:
        assert db.execute("SELECT value, raw FROM metrics WHERE type = 'FINAL'").fetchall() == [
            (0.9, "0.9")
        ]


def test_rows_per_job_and_parameter_set_including_jobs_that_never_asked(tmp_path):
    store = store_with_two_jobs(tmp_path)
    store.add_metrics([Metric("a", 1, "FINAL", 0, 0.7, {"default": 0.7, "loss": 2})])
    store.add_job_end(JobEnd("b", "FAILED", 127, "exit code 127"))
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
        [Metric("a", 0, "PERIODICAL", seq, float(seq), float(seq)) for seq in (2, 0, 1)]
    )
    store.commit()
    assert store.intermediate_results(0) == [0.0, 1.0, 2.0]


def test_reopen_marks_jobs_left_running_as_failed_and_keeps_the_rest(tmp_path):
    store = store_with_two_jobs(tmp_path)
    store.add_job_end(JobEnd("a", "SUCCEEDED", 0, None))
    store.set_experiment_status("ERROR", "killed", ended=True)
    store.close()
    reopened = open_store(tmp_path)
    assert reopened.next_parameter_id() == 2
    assert reopened.counted_configurations() == 3  # two parameter sets, and job b that never asked
    reopened.reopen()
    reopened.commit()
    assert reopened.experiment()["status"] == "RUNNING"
    assert reopened.counts() == {"SUCCEEDED": 1, "FAILED": 1}
    assert reopened.experiment()["config"] == {"trial_command": "python t.py"}
    reopened.close()


def test_nothing_is_visible_to_a_reader_before_the_commit(tmp_path):
    store = store_with_two_jobs(tmp_path)
    reader = open_reader(tmp_path)
    store.add_metrics([Metric("a", 0, "FINAL", 0, 0.5, 0.5)])
    store.add_event(Event("ASSESSOR_KILL", "a", "bad curve"))
    assert reader.final_metric(0) is None and reader.events() == []
    store.commit()
    assert reader.final_metric(0).raw == 0.5
    assert [(e["kind"], e["trial_job_id"]) for e in reader.events()] == [("ASSESSOR_KILL", "a")]
    assert reader.parameter_set("a", 1).parameters == {"x": 0.25}
    reader.close()
    store.close()


def test_a_follower_reads_each_record_once_by_append_order(tmp_path):
    store = store_with_two_jobs(tmp_path)
    reader = open_reader(tmp_path)
    version = reader.data_version()
    with reader.snapshot():
        position, jobs = reader.jobs_after(0)
        assert [(j.trial_job_id, j.status, j.end_time) for j in jobs] == [
            ("a", "RUNNING", None),
            ("b", "RUNNING", None),
        ]
        assert [p.parameters for p in reader.parameter_sets_after(-1)] == [{"x": 0.5}, {"x": 0.25}]
        metric_position, metrics = reader.metrics_after(0)
        assert metrics == [] and reader.events_after(0) == (0, [])
    store.add_job_start(JobStart("c", 2, str(tmp_path / "c")))
    store.add_job_end(JobEnd("a", "SUCCEEDED", 0, None))
    reports = [Metric("a", 0, "PERIODICAL", 0, 0.25, {"default": 0.25, "loss": 3})]
    store.add_metrics(
        reports + [Metric("a", 0, "FINAL", 0, 0.5, 0.5), Metric("a", 1, "FINAL", 0, 2, 2)]
    )
    store.add_event(Event("ASSESSOR_KILL", "b", "bad curve"))
    store.commit()
    assert reader.data_version() != version
    assert [j.trial_job_id for j in reader.jobs_after(position)[1]] == ["c"]
    assert [(j.trial_job_id, j.status) for j in reader.jobs(["a", "b"])] == [
        ("a", "SUCCEEDED"),
        ("b", "RUNNING"),
    ]
    assert [p.parameter_id for p in reader.parameter_sets_after(0)] == [1]
    metric_position, metrics = reader.metrics_after(metric_position)
    assert [(m.type, m.raw) for m in metrics] == [
        ("PERIODICAL", {"default": 0.25, "loss": 3}),  # as reported
        ("FINAL", 0.5),
        ("FINAL", 2),  # an integer stays one
    ]
    assert reader.metrics_after(metric_position) == (metric_position, [])
    event_position, events = reader.events_after(0)
    assert [(e.kind, e.trial_job_id, e.detail) for e in events] == [
        ("ASSESSOR_KILL", "b", "bad curve")
    ]
    assert reader.events_after(event_position) == (event_position, [])
    reader.close()
    store.close()


def test_the_reader_never_writes(tmp_path):
    store_with_two_jobs(tmp_path).close()
    with open_reader(tmp_path) as reader, pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader._db.execute("DELETE FROM parameters")  # the connection itself refuses


def test_a_store_of_a_newer_schema_is_refused_clearly(tmp_path):
    store_with_two_jobs(tmp_path).close()
    with sqlite3.connect(tmp_path / "experiment.db") as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaError, match=f"schema version {SCHEMA_VERSION + 1}, newer"):
        open_reader(tmp_path)
    with pytest.raises(SchemaError, match="upgrade asyncnni"):
        open_store(tmp_path)


def test_a_store_of_schema_version_1_is_read_and_gains_the_direction_when_written(tmp_path):
    store_with_two_jobs(tmp_path).close()
    with sqlite3.connect(tmp_path / "experiment.db") as db:  # as version 1 made it
        db.execute("ALTER TABLE experiment DROP COLUMN optimize_mode")
        db.execute("PRAGMA user_version = 1")
    with open_reader(tmp_path) as reader:
        assert reader.experiment()["optimize_mode"] is None
        assert len(reader.trial_rows()) == 3  # nothing stored is lost
    store = open_store(tmp_path)  # a resume opens it for writing
    assert store.experiment()["optimize_mode"] is None
    assert store._db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    store.close()


def test_the_direction_is_stored_with_the_experiment(tmp_path):
    store = open_store(tmp_path)
    store.create_experiment(ExperimentRecord("e", None, {}, {}, optimize_mode="minimize"))
    store.commit()
    store.close()
    with open_reader(tmp_path) as reader:
        assert reader.experiment()["optimize_mode"] == "minimize"


def test_experiments_are_found_by_their_stores(tmp_path):
    for name in ("b", "a"):
        store_with_two_jobs(tmp_path / name).close()
    (tmp_path / "not-an-experiment").mkdir()
    assert find_experiments(tmp_path) == [tmp_path / "a", tmp_path / "b"]
    assert find_experiments(tmp_path / "missing") == []
    with pytest.raises(LookupError, match="no experiment store"):
        open_reader(tmp_path / "not-an-experiment")
