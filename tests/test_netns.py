"""The loopback-only namespace that tests starting Ray run in (tests/netns.py)."""

from __future__ import annotations

import socket

import pytest

from . import netns
from .ray_helpers import local_ray


@pytest.mark.loopback_netns(timeout=60)
def test_inside_the_namespace_only_loopback_exists_and_is_up(tmp_path):
    assert netns.isolated()
    with (
        socket.create_server(("127.0.0.1", 0)) as server,
        socket.create_connection(server.getsockname(), timeout=5),
    ):
        pass


@pytest.mark.slow
@pytest.mark.loopback_netns(timeout=120)
def test_ray_starts_on_loopback_in_the_namespace(tmp_path):
    ray = pytest.importorskip("ray")
    with local_ray(tmp_path, num_cpus=1):
        assert {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.1"}
        assert ray.get(ray.remote(lambda: 41 + 1).remote()) == 42
    assert (tmp_path / "ray" / "ray").is_dir()  # its logs stayed in the test's folder
