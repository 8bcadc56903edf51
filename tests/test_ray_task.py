"""The node side of a Ray trial job (asyncnni.training._ray_task), on a real two-node
ray.cluster_utils.Cluster in the loopback-only namespace: exit status, output, the node's
id, a kill that ends the whole process tree, and a node that dies mid-trial."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .helpers import all_gone
from .ray_helpers import ray_cluster

# writes its node id, its shell's pid and a grandchild's pid, then runs until killed
TRIAL = (
    'echo "node $ASYNCNNI_RAY_NODE_ID job $JOB"; echo $$ > "$OUT/$JOB.pids"; '
    'sleep 300 & echo $! >> "$OUT/$JOB.pids"; wait'
)


def _pids(out: Path, job: str) -> list[int]:
    path = out / f"{job}.pids"
    deadline = time.monotonic() + 60
    while len(path.read_text().split()) < 2 if path.exists() else True:
        assert time.monotonic() < deadline, f"trial {job} never started"
        time.sleep(0.05)
    return [int(pid) for pid in path.read_text().split()]


@pytest.mark.slow
@pytest.mark.loopback_netns(timeout=300)
def test_a_trial_task_runs_reports_and_is_ended_whole(tmp_path):
    ray = pytest.importorskip("ray")
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from asyncnni.training._ray_task import LogSink, run_trial

    out = tmp_path / "out"
    out.mkdir()
    nodes = [{"num_cpus": 1}, {"num_cpus": 1, "resources": {"worker": 1}}]
    with ray_cluster(tmp_path, nodes) as cluster:
        here = ray.get_runtime_context().get_node_id()
        sink = (
            ray.remote(LogSink)
            .options(num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(here, False))
            .remote({})
        )
        task = ray.remote(run_trial)

        def start(job: str, command: str, **options):
            ray.get(sink.open.remote(job, str(tmp_path / job / "trial.log")))
            env = {"JOB": job, "OUT": str(out)}
            run = task.options(max_retries=0, **options)
            return run.remote(job, command, str(tmp_path), env, sink, 1.0)

        assert ray.get(start("done", 'echo "ran in $PWD"; exit 3')) == 3
        assert (tmp_path / "done" / "trial.log").read_text() == f"ran in {tmp_path}\n"

        killed = start("killed", TRIAL)
        pids = _pids(out, "killed")
        ray.cancel(killed)  # soft: the task ends the trial's process group itself
        with pytest.raises(ray.exceptions.TaskCancelledError):
            ray.get(killed)
        assert all_gone(pids), "a killed trial left processes behind"
        assert "job killed" in (tmp_path / "killed" / "trial.log").read_text()  # its log stays

        worker = cluster.list_all_nodes()[1]
        lost = start("lost", TRIAL, resources={"worker": 1})
        pids = _pids(out, "lost")
        cluster.remove_node(worker)
        with pytest.raises(ray.exceptions.NodeDiedError, match="node ID"):
            ray.get(lost)
        assert ray.get(sink.node_of.remote("lost")) == worker.node_id != here
        assert all_gone(pids), "the trial outlived its node's Ray worker"
