"""A trial for the Ray experiment tests: ``python ray_trial.py MODE [MARK_DIR]``.

It writes its own pid and a child's (``pids`` in its trial folder), then by MODE:
``kill_worker_first_run`` kills the Ray worker that runs it (the infrastructure loses the
job) on a parameter set's first run and succeeds on the next; ``curve`` reports falling
intermediate results then waits (an assessor stops it); ``hang`` waits to be killed."""

import os
import signal
import subprocess
import sys
import time

import asyncnni


def ray_worker_pid() -> int:
    """The worker pid that _guard.py was started with (an ancestor of this process)."""
    pid = os.getppid()
    while pid > 1:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        if any(arg.endswith(b"_guard.py") for arg in argv):
            return int(argv[[a.endswith(b"_guard.py") for a in argv].index(True) + 1])
        with open(f"/proc/{pid}/stat") as f:
            pid = int(f.read().rsplit(")", 1)[1].split()[1])
    raise RuntimeError("not run by the ray training service")


params = asyncnni.get_next_parameter()
mode = sys.argv[1]
child = subprocess.Popen(["sleep", "300"])
with open(os.path.join(os.environ["ASYNCNNI_TRIAL_DIR"], "pids"), "w") as out:
    out.write(f"{os.getpid()} {child.pid}")
if mode == "kill_worker_first_run":
    mark = os.path.join(sys.argv[2], repr(params["x"]))
    if not os.path.exists(mark):
        open(mark, "w").close()
        os.kill(ray_worker_pid(), signal.SIGKILL)
        time.sleep(300)  # the guard ends this group once the worker is gone
elif mode == "curve":
    for step in range(3):
        asyncnni.report_intermediate_result(0.1 / (step + 1))
    time.sleep(300)
elif mode == "hang":
    time.sleep(300)
child.kill()
asyncnni.report_final_result(params["x"])
