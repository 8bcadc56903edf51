"""Tests that must see only the loopback interface (those that start Ray) run here.

Ray binds its services on the machine's routable address even when told 127.0.0.1, and
tests send traffic to loopback only. So a test marked ``loopback_netns`` runs in a pytest
of its own, re-executed inside new network, PID and mount namespaces (``unshare --net
--pid --fork --mount-proc --map-root-user``) whose one interface is ``lo``: there Ray
falls back to 127.0.0.1, and when that pytest ends the kernel ends every process it left
(the namespace's init is gone). Where no namespace can be made, the test is skipped with
the reason; it never runs on the routable address.

Run as a script, this file brings ``lo`` up and execs the command after it.
"""

from __future__ import annotations

import fcntl
import functools
import os
import signal
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest

UNSHARE = ["unshare", "--net", "--pid", "--fork", "--mount-proc", "--map-root-user"]
OUTPUT_TAIL = 12_000


def isolated() -> bool:
    """True inside a namespace whose only network interface is loopback."""
    return [name for _, name in socket.if_nameindex()] == ["lo"]


@functools.cache
def namespace_problem() -> str | None:
    """Why no loopback-only namespace can be made here, or None when one can."""
    try:
        done = subprocess.run(
            [*UNSHARE, sys.executable, __file__, sys.executable, "-c", "pass"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"cannot make a loopback-only network namespace: {err}"
    if done.returncode != 0:
        return f"cannot make a loopback-only network namespace: {done.stderr.strip()[-300:]}"
    return None


def rerun_isolated(item: pytest.Item, timeout: float) -> None:
    """Run the test ``item`` in a pytest of its own inside the namespace; fail with its
    output when it fails there."""
    problem = namespace_problem()
    if problem is not None:
        pytest.skip(problem)
    base = Path(item.funcargs["tmp_path"]) if "tmp_path" in item.funcargs else None
    command = [*UNSHARE, sys.executable, __file__, sys.executable, "-m", "pytest", "-q"]
    command += ["-p", "no:cacheprovider", "--no-header", "-rs", item.nodeid]
    if base is not None:
        command += ["--basetemp", str(base / "isolated")]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    if base is not None:  # Ray writes ~/.ray/auth_token: keep it in the test's folder
        env["HOME"] = str(base / "home")
    process = subprocess.Popen(
        command,
        cwd=item.config.rootpath,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the namespace's processes die with its init
        output, _ = process.communicate()
        pytest.fail(f"timed out after {timeout:.0f}s in the namespace:\n{output[-OUTPUT_TAIL:]}")
    summary = (output.strip().splitlines() or [""])[-1]
    if process.returncode == 0 and "skipped" in summary and "passed" not in summary:
        pytest.skip(f"in the namespace: {output.strip()[-OUTPUT_TAIL:]}")
    if process.returncode != 0:
        pytest.fail(f"failed in the loopback-only namespace:\n{output[-OUTPUT_TAIL:]}", False)


def _loopback_up() -> None:
    """``ip link set lo up``, without needing iproute2."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(sock, siocgifflags, request)[:18])[1]
        fcntl.ioctl(sock, siocsifflags, struct.pack("16sH", b"lo", flags | iff_up))


if __name__ == "__main__":
    if not isolated():
        sys.exit("netns.py: refusing to run outside a loopback-only network namespace")
    _loopback_up()
    os.execv(sys.argv[1], sys.argv[1:])
