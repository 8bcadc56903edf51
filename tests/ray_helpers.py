"""A real local Ray for tests, only inside the loopback-only namespace of tests/netns.py
(`unshare --net --pid --map-root-user`, `lo` up, nothing else), where Ray binds 127.0.0.1.

Ray's logs go under the test's temp folder, reached through a short symlink in /tmp
(Ray's Unix socket paths must stay under 107 bytes); its object store is capped, its
dashboard and usage statistics are off, and everything it started is stopped at the end.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import netns

OBJECT_STORE_BYTES = 80 * 1024 * 1024


@contextlib.contextmanager
def ray_temp_dir(tmp_path: Path) -> Iterator[str]:
    """A short path to ``tmp_path/ray`` for Ray's temp dir, RAY_TMPDIR set to its parent."""
    target = tmp_path / "ray"
    (target / "ray").mkdir(parents=True, exist_ok=True)
    link = Path(tempfile.mkdtemp(prefix="ar-", dir="/tmp")) / "r"
    link.symlink_to(target)
    previous = os.environ.get("RAY_TMPDIR")
    os.environ["RAY_TMPDIR"] = str(link)
    try:
        yield str(link / "ray")
    finally:
        if previous is None:
            os.environ.pop("RAY_TMPDIR", None)
        else:
            os.environ["RAY_TMPDIR"] = previous
        link.unlink()
        link.parent.rmdir()


def node_args(num_cpus: int, **extra) -> dict:
    return {
        "num_cpus": num_cpus,
        "object_store_memory": OBJECT_STORE_BYTES,
        "include_dashboard": False,
        **extra,
    }


@contextlib.contextmanager
def local_ray(tmp_path: Path, num_cpus: int = 2) -> Iterator[None]:
    """``ray.init`` of a one-node Ray for the test; shut down at the end."""
    assert netns.isolated(), "Ray runs in a loopback-only namespace only"
    ray = pytest.importorskip("ray")
    with ray_temp_dir(tmp_path) as temp_dir:
        ray.init(**node_args(num_cpus), _temp_dir=temp_dir, logging_level="warning")
        try:
            yield
        finally:
            ray.shutdown()


@contextlib.contextmanager
def ray_cluster(tmp_path: Path, nodes: list[dict]) -> Iterator[object]:
    """A ``ray.cluster_utils.Cluster`` with one node per entry of ``nodes`` (each the
    node's num_cpus and resources; the first is the head), connected to; shut down at the end."""
    assert netns.isolated(), "Ray runs in a loopback-only namespace only"
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    with ray_temp_dir(tmp_path) as temp_dir:
        head, *workers = nodes
        cluster = Cluster(
            initialize_head=True,
            head_node_args=node_args(temp_dir=temp_dir, **head),
        )
        try:
            for worker in workers:
                cluster.add_node(**node_args(**worker))
            cluster.wait_for_nodes()
            ray.init(address=cluster.address, logging_level="warning")
            yield cluster
        finally:
            ray.shutdown()
            cluster.shutdown()
