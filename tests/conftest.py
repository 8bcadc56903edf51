import pytest

from . import netns


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_pyfunc_call(pyfuncitem: pytest.Function):
    """A test marked ``loopback_netns(timeout=S)`` runs again inside a loopback-only
    namespace (see tests/netns.py), unless it already is in one."""
    marker = pyfuncitem.get_closest_marker("loopback_netns")
    if marker is None or netns.isolated():
        return None
    netns.rerun_isolated(pyfuncitem, marker.kwargs.get("timeout", 150))
    return True
