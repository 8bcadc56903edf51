"""asyncnni against NNI 3.0 on the same experiment, in one run: trivial trials (get one
configuration, report one result), the Random tuner, local trial processes, the same
concurrency; asyncnni with its trials started plain and forked warm, NNI from its own
interpreter; in alternating order, ``--pairs`` times.

    ASYNCNNI_NNI_PYTHON=../nni-venv/bin/python python benchmarks/vs_nni.py --trials 20 --concurrency 4

NNI lives in a virtual environment of its own (it pins packages of its time):
``python3 -m venv ../nni-venv && ../nni-venv/bin/pip install nni==3.0``; ``--nni-python`` or
``$ASYNCNNI_NNI_PYTHON`` names its interpreter. Without one the benchmark prints a JSON line
saying why it skipped. NNI's manager listens on every interface, so the benchmark runs itself
in a loopback-only network namespace (tests/netns.py); where none can be made it skips too,
and it never serves NNI on a routable address. Prints one JSON line; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import BenchmarkFailed, report, timed_experiment

ROOT = Path(__file__).resolve().parent.parent
NNI_EXPERIMENT = Path(__file__).resolve().parent / "_nni_experiment.py"
NNI_VERSION = "3.0"
NNI_TIMEOUT_S = 600


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--pairs", type=int, default=1, help="rounds of the three runs")
    parser.add_argument(
        "--nni-python",
        default=os.environ.get("ASYNCNNI_NNI_PYTHON"),
        help="the interpreter of NNI's venv (default: $ASYNCNNI_NNI_PYTHON)",
    )
    return parser.parse_args()


def _skip(reason: str) -> None:
    report("vs_nni", skipped=reason)
    sys.exit(0)


def _check_nni(python: str | None) -> str:
    """The NNI interpreter, or skip saying why there is none."""
    if not python:
        _skip(
            "NNI 3.0 not configured: set ASYNCNNI_NNI_PYTHON (or --nni-python) to the python "
            f"of a venv with nni=={NNI_VERSION}"
        )
    try:
        done = subprocess.run(
            [python, "-c", "import nni; print(nni.__version__)"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        _skip(f"NNI's python {python!r} cannot run: {err}")
    if done.returncode != 0 or done.stdout.strip() != NNI_VERSION:
        _skip(
            f"{python!r} has no nni=={NNI_VERSION}: {(done.stderr or done.stdout).strip()[-300:]}"
        )
    return python


def _in_namespace() -> None:
    """Run this benchmark again in a loopback-only network namespace, or skip."""
    sys.path.insert(0, str(ROOT))
    from tests.netns import UNSHARE, isolated, namespace_problem

    if isolated():
        return
    problem = namespace_problem()
    if problem is not None:
        _skip(f"NNI's manager listens on every interface and {problem}")
    netns = ROOT / "tests" / "netns.py"
    command = [*UNSHARE, sys.executable, str(netns), sys.executable, *sys.argv]
    sys.exit(subprocess.run(command).returncode)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _nni(python: str, trials: int, concurrency: int) -> dict:
    """One NNI experiment; its own output goes to stderr, its figures come back."""
    with tempfile.TemporaryDirectory(prefix="asyncnni-nni-bench-") as tmp:
        done = subprocess.run(
            [python, str(NNI_EXPERIMENT), str(trials), str(concurrency), tmp, str(_free_port())],
            capture_output=True,
            text=True,
            timeout=NNI_TIMEOUT_S,
            env={**os.environ, "HOME": tmp},  # NNI keeps its registry of experiments in ~
        )
    lines = done.stdout.strip().splitlines()
    sys.stderr.write("\n".join(lines[:-1]) + "\n" + done.stderr)
    if done.returncode != 0 or not lines:
        raise BenchmarkFailed(f"NNI exited {done.returncode}: {done.stderr[-2000:]}")
    run = json.loads(lines[-1])
    if run["status"] != "DONE" or run["succeeded"] != trials:
        raise BenchmarkFailed(f"NNI ended {run['status']} with {run['succeeded']} trials succeeded")
    return run


def _asyncnni(trials: int, concurrency: int, mode: str) -> float:
    with timed_experiment(
        "one_result.py",
        max_trial_number=trials,
        trial_concurrency=concurrency,
        training_service={"platform": "local", "trial_launcher": {"mode": mode, "preload": []}},
    ) as run:
        return run.wall_s


def main() -> None:
    args = _arguments()
    python = _check_nni(args.nni_python)
    _in_namespace()
    plain, fork, nni, nni_stop = [], [], [], []
    for _ in range(args.pairs):
        plain.append(_asyncnni(args.trials, args.concurrency, "plain"))
        run = _nni(python, args.trials, args.concurrency)
        nni.append(run["wall_s"])
        nni_stop.append(run["stop_s"])
        fork.append(_asyncnni(args.trials, args.concurrency, "fork"))
    plain_s, fork_s, nni_s = map(statistics.median, (plain, fork, nni))
    report(
        "vs_nni",
        trials=args.trials,
        concurrency=args.concurrency,
        pairs=args.pairs,
        asyncnni_plain_s=round(plain_s, 3),
        asyncnni_fork_s=round(fork_s, 3),
        nni_s=round(nni_s, 2),
        nni_stop_s=round(statistics.median(nni_stop), 2),
        speedup_plain=round(nni_s / plain_s, 1),
        speedup_fork=round(nni_s / fork_s, 1),
        asyncnni_plain_s_runs=[round(x, 3) for x in plain],
        asyncnni_fork_s_runs=[round(x, 3) for x in fork],
        nni_s_runs=[round(x, 2) for x in nni],
        nni_version=NNI_VERSION,
    )


if __name__ == "__main__":
    main()
