"""The dashboard's mirror of a store, fed by hand: who waits on whom comes from the
dispatcher's WAIT_FOR_RESULT records, not from a tuner's parameters or the clock."""

from __future__ import annotations

import json

from asyncnni.store import ExperimentRecord, JobEnd, JobStart, Metric, ParameterSet, open_store
from asyncnni.store.records import wait_for_result_event
from asyncnni.web.mirror import StoreMirror
from asyncnni.web.nni_rest import metric_data_records
from asyncnni.web.views import Views


def test_a_wait_on_a_parent_is_shown_until_the_child_gets_its_parameter_set(tmp_path):
    store = open_store(tmp_path)
    store.create_experiment(ExperimentRecord("e", None, {}, {}))
    for sequence, job in enumerate("pc"):
        store.add_job_start(JobStart(job, sequence, str(tmp_path / job)))
    store.add_parameter_sets([ParameterSet(0, "p", 0, {"x": 1}, "algorithm", time=10.0)])
    wait = wait_for_result_event("c", 1, 0, True, time=100.0)
    store.add_event(wait)
    store.commit()
    mirror = StoreMirror(tmp_path)
    views = Views(mirror)
    assert mirror.refresh()
    (waiting,) = views.lineage()["waiting"]
    assert (waiting["trial_job_id"], waiting["parameter_id"], waiting["parent_id"]) == ("c", 1, 0)
    assert waiting["parent_trial_job_id"] == "p" and waiting["since"] == wait.time
    assert "awaits the result of parameter set 0 (trial job p, RUNNING)" in waiting["reason"]
    assert views.overview()["counts"]["waiting"] == 1

    # the tuner put no parent_id into the child's parameters: the lineage does not need one
    store.add_metrics([Metric("p", 0, "FINAL", 0, 0.5, 0.5)])
    store.add_job_end(JobEnd("p", "SUCCEEDED", 0, None))
    store.add_parameter_sets([ParameterSet(1, "c", 0, {"x": 2}, "algorithm", time=wait.time + 3)])
    store.commit()
    assert mirror.refresh()
    lineage = views.lineage()
    assert lineage["waiting"] == [] and views.overview()["counts"]["waiting"] == 0
    child = next(n for n in lineage["nodes"] if n["parameter_id"] == 1)
    assert (child["parent_id"], child["parent_trial_job_id"], child["waited"]) == (0, "p", 3.0)
    root = next(n for n in lineage["nodes"] if n["parameter_id"] == 0)
    assert root["parent_id"] is None and root["waited"] is None
    mirror.close()
    store.close()


def test_stored_metrics_keep_their_reported_shape_and_kills_are_in_the_default_curves(tmp_path):
    store = open_store(tmp_path)
    store.create_experiment(ExperimentRecord("e", None, {}, {}))
    for sequence in range(12):
        job = f"j{sequence}"
        store.add_job_start(JobStart(job, sequence, str(tmp_path / job)))
        store.add_parameter_sets([ParameterSet(sequence, job, 0, {"x": sequence}, "algorithm")])
        store.add_metrics(
            [Metric(job, sequence, "PERIODICAL", 0, 0.1, {"default": 0.1, "loss": 2})]
        )
        if sequence:  # eleven finish well; j0 is stopped early after one bad point
            store.add_metrics([Metric(job, sequence, "FINAL", 0, sequence, sequence)])
        status = "EARLY_STOPPED" if sequence == 0 else "SUCCEEDED"
        store.add_job_end(JobEnd(job, status, None, None))
    store.commit()
    mirror = StoreMirror(tmp_path)
    mirror.refresh()
    series = Views(mirror).intermediate()["series"]
    assert len(series) == 11  # the ten best and the one stopped early
    assert [s["trial_job_id"] for s in series if s["killed"]] == ["j0"]
    # NNI's /metric-data: the metric as reported, JSON inside JSON (NNI stores the trial's text)
    (record,) = metric_data_records(mirror.by_parameter[0], None)
    assert record["type"] == "PERIODICAL"
    assert json.loads(json.loads(record["data"])) == {"default": 0.1, "loss": 2}
    mirror.close()
    store.close()
