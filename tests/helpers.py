"""Building small experiments for tests."""

from __future__ import annotations

import os
import time
from pathlib import Path

ASSETS = Path(__file__).parent / "assets"


def experiment_config(tmp_path: Path, **overrides) -> dict:
    """A config dict running tests/assets/echo_trial.py with the Random tuner."""
    config = {
        "search_space": {"x": {"_type": "uniform", "_value": [0, 1]}},
        "trial_command": "python echo_trial.py",
        "trial_code_directory": str(ASSETS),
        "trial_concurrency": 4,
        "max_trial_number": 20,
        "tuner": {"name": "Random", "class_args": {"optimize_mode": "maximize", "seed": 1}},
        "training_service": {"platform": "local"},
        "experiment_working_directory": str(tmp_path / "experiments"),
    }
    config.update(overrides)
    return config


def process_is_gone(pid: int) -> bool:
    """True when ``pid`` has exited: no such process, or a zombie left to an init that
    does not reap (as in some containers)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def all_gone(pids: list[int], timeout: float = 30.0) -> bool:
    """True once every process of ``pids`` has exited, False if some still run after
    ``timeout`` (another process's death signals nothing here: look)."""
    deadline = time.monotonic() + timeout
    while not all(process_is_gone(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return all(process_is_gone(pid) for pid in pids)


def template_processes() -> list[int]:
    """The pids of the running fork-launcher templates this process started."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == os.getpid() and b"asyncnni.training.template" in command:
            found.append(int(stat.parent.name))
    return found
