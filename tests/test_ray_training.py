"""The ray training service end to end, on a real two-node ray.cluster_utils.Cluster in
the loopback-only namespace; and the tcp transport with CURVE under a real experiment."""

from __future__ import annotations

import os
import threading
import time

import pytest

from asyncnni import auth, transport
from asyncnni.catalog import export_rows
from asyncnni.experiment import Experiment
from asyncnni.trial import TrialClient, TrialError

from .helpers import experiment_config
from .ray_helpers import ray_cluster


@pytest.mark.slow
@pytest.mark.loopback_netns(timeout=300)
def test_twenty_trials_run_to_the_end_across_the_nodes_of_a_cluster(tmp_path):
    nodes = [{"num_cpus": 1}, {"num_cpus": 1}]
    with ray_cluster(tmp_path, nodes):
        config = experiment_config(
            tmp_path,
            trial_command="python node_trial.py",
            trial_concurrency=2,
            training_service={"platform": "ray", "resources_per_trial": {"cpu": 1}},
        )
        result = Experiment(config).run()
    rows = export_rows(tmp_path / "experiments", result.experiment_id)
    assert result.status == "DONE" and len(rows) == 20
    assert all(row["status"] == "SUCCEEDED" and row["final_metric"] is not None for row in rows)
    trial_dirs = (result.folder / "trials").iterdir()
    ran_on = {(folder / "node").read_text() for folder in trial_dirs}
    assert len(ran_on) > 1 and "" not in ran_on


@pytest.mark.slow
def test_over_tcp_with_curve_a_client_without_the_keys_gets_nothing(tmp_path):
    go = tmp_path / "go"
    config = experiment_config(
        tmp_path,
        trial_concurrency=2,
        max_trial_number=4,
        dispatcher={"bind": "tcp://127.0.0.1:0"},
    )
    experiment = Experiment(config)
    listening = threading.Event()
    experiment.on_start = lambda started: listening.set()
    outcome = {}
    runner = threading.Thread(target=lambda: outcome.update(result=experiment.run()))
    os.environ["ECHO_MODE"], os.environ["ECHO_GO_FILE"] = "report_when_told", str(go)
    try:
        runner.start()
        assert listening.wait(60)
        address = experiment.address
        assert address.startswith("tcp://127.0.0.1:")
        jobs = experiment.dispatcher.ledger.jobs
        deadline = time.monotonic() + 60
        while not jobs:  # speak for a real trial job
            assert time.monotonic() < deadline
            time.sleep(0.05)
        job = next(iter(list(jobs)))
        _, stranger = auth.experiment_keys(tmp_path / "elsewhere")
        server_key = auth.experiment_keys(experiment.folder)[1].server_key
        wrong = transport.CurveClient(server_key, stranger.public_key, stranger.secret_key)
        for curve in (None, wrong):
            intruder = TrialClient(address, job, curve)
            try:
                with pytest.raises(TrialError, match="refused|handshake"):
                    intruder.get_next_parameter()
            finally:
                intruder.close()
        go.touch()
        runner.join(120)
    finally:
        os.environ.pop("ECHO_MODE"), os.environ.pop("ECHO_GO_FILE")
        go.touch()
        runner.join(120)
    result = outcome["result"]
    rows = export_rows(tmp_path / "experiments", result.experiment_id)
    assert result.status == "DONE" and len(rows) == 4
    assert all(row["status"] == "SUCCEEDED" for row in rows)
