"""Whole experiments on Ray, on one real two-node Cluster in the loopback-only namespace:
a job lost with its Ray worker runs again (max_trial_retries), an assessor kill and a
max_trial_duration kill leave no process of the trial, the weight-sharing example's children
wait for their parents, a removed node ends its trial FAILED and the experiment finishes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from asyncnni.catalog import export_rows
from asyncnni.config import SharedStorageConfig, TrainingServiceConfig
from asyncnni.experiment import Experiment
from asyncnni.store import open_reader

from .helpers import ASSETS, all_gone, experiment_config
from .ray_helpers import ray_cluster
from .traces import example, run


def _run(tmp_path: Path, mode: str, **overrides) -> tuple[Experiment, list[dict]]:
    settings = {
        "trial_command": f"python ray_trial.py {mode} {tmp_path}",
        "max_trial_number": 1,
        "trial_concurrency": 1,
        "training_service": {"platform": "ray", "resources_per_trial": {"cpu": 1}},
        **overrides,
    }
    config = experiment_config(tmp_path, **settings)
    experiment = Experiment(config)
    result = experiment.run()
    assert result.status == "DONE", result.message
    return experiment, export_rows(tmp_path / "experiments", result.experiment_id)


def _trial_pids(experiment: Experiment) -> list[int]:
    files = list((experiment.folder / "trials").glob("*/pids"))
    return [int(pid) for path in files for pid in path.read_text().split()]


@pytest.mark.slow
@pytest.mark.timeout(480)  # five experiments on one Cluster (its start is paid once)
@pytest.mark.loopback_netns(timeout=450)
def test_experiments_on_ray_retry_lost_jobs_and_end_killed_trials_whole(tmp_path):
    nodes = [{"num_cpus": 2}, {"num_cpus": 1, "resources": {"doomed": 1}}]
    with ray_cluster(tmp_path, nodes) as cluster:
        # the worker dies under the trial: the same parameter set runs again, once
        experiment, rows = _run(
            tmp_path / "lost",
            "kill_worker_first_run",
            max_trial_number=2,
            trial_concurrency=2,
            max_trial_retries=1,
        )
        lost = [row for row in rows if row["status"] == "FAILED"]
        again = [row for row in rows if row["status"] == "SUCCEEDED"]
        assert len(lost) == 2 and sorted(row["parameter_id"] for row in again) == [0, 1]
        assert all("lost to the infrastructure" in row["message"] for row in lost)
        assert all("runs again as trial job" in row["retry"] for row in lost)
        assert all_gone(_trial_pids(experiment))

        experiment, rows = _run(tmp_path / "timeout", "hang", max_trial_duration=3)
        assert [row["status"] for row in rows] == ["FAILED"]
        assert "max_trial_duration" in rows[0]["message"]
        assert len(_trial_pids(experiment)) == 2 and all_gone(_trial_pids(experiment))

        assessor = {
            "code_directory": str(ASSETS),
            "class_file_name": "threshold_assessor.py",
            "class_name": "ThresholdAssessor",
            "class_args": {"threshold": 0.5},
        }
        experiment, rows = _run(tmp_path / "assessed", "curve", assessor=assessor)
        assert [row["status"] for row in rows] == ["EARLY_STOPPED"]
        assert len(_trial_pids(experiment)) == 2 and all_gone(_trial_pids(experiment))

        _weight_sharing_children_wait_for_their_parents(tmp_path / "shared")

        # the only node with the trial's resource goes away mid-trial
        doomed = cluster.list_all_nodes()[1]
        folder = tmp_path / "node" / "experiments"
        remover = threading.Thread(target=_remove_when_started, args=(cluster, doomed, folder))
        remover.start()
        try:
            experiment, rows = _run(
                tmp_path / "node",
                "hang",
                training_service={
                    "platform": "ray",
                    "resources_per_trial": {"cpu": 1, "doomed": 1},
                },
            )
        finally:
            remover.join(120)
        assert [row["status"] for row in rows] == ["FAILED"]
        assert "lost to the infrastructure" in rows[0]["message"]
        assert rows[0]["retry"] is None  # max_trial_retries is 0


def _weight_sharing_children_wait_for_their_parents(tmp_path: Path) -> None:
    """trials/weight_sharing in asynchronous mode on Ray: a child gets its parameters only
    after its parent's final result is stored (the parent saved its weights before it
    reported), and it loads them."""
    config = example(
        "weight_sharing",
        tmp_path,
        max_trial_number=4,
        trial_concurrency=2,
        shared_storage=SharedStorageConfig(local_mount_point=tmp_path / "weights"),
        training_service=TrainingServiceConfig(platform="ray", resources_per_trial={"cpu": 1}),
    )
    config.tuner.class_args.update(population_size=2)
    done = run(config)
    assert done.result.status == "DONE", done.result.message
    assert {row["status"] for row in done.rows} == {"SUCCEEDED"}
    children = [row for row in done.configured if row["parameters"]["parent_id"] is not None]
    assert children
    with open_reader(done.result.folder) as store:
        for child in children:
            parent_id = child["parameters"]["parent_id"]
            given = store.parameter_set(child["trial_job_id"], child["parameter_index"])
            assert given.time >= store.final_metric(parent_id).time, "a child was answered early"
            assert child["final_metric"]["inherited"] > 0  # it loaded its parent's weights


def _remove_when_started(cluster, node, folder: Path) -> None:
    deadline = time.monotonic() + 90
    while not list(folder.glob("*/trials/*/pids")) and time.monotonic() < deadline:
        time.sleep(0.05)
    cluster.remove_node(node)
