"""Memory of the dispatcher at growing sizes: peak RSS of the ``asyncnni run`` process for
multi-phase experiments of --configs configurations (comma-separated sizes), --workers
long-running workers, the Random tuner and three intermediate results per configuration.

Each size is a real experiment (a YAML in a temporary folder, ``asyncnni run`` as a
subprocess); the figure is the process's own peak (VmHWM, read until it exits), not its
trials'. One JSON line: the peak per size and the growth from the smallest size to each."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import TRIALS, BenchmarkFailed, report


def peak_rss_mb(process: subprocess.Popen) -> float:
    """The peak resident set of ``process`` (VmHWM), read until it exits."""
    status = Path(f"/proc/{process.pid}/status")
    peak = 0.0
    while process.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(0.05)  # sampling a peak that only grows: the last sample before exit counts
    return peak


def run(configs: int, workers: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="asyncnni-memory-") as tmp:
        config = {
            "search_space": {"x": {"_type": "uniform", "_value": [0, 1]}},
            "trial_command": "python three_reports.py",
            "trial_code_directory": str(TRIALS),
            "trial_concurrency": workers,
            "max_configuration_number": configs,
            "multi_phase": True,
            "tuner": {"name": "Random", "class_args": {"seed": 0}},
            "experiment_working_directory": tmp,
        }
        yaml = Path(tmp) / "exp.yaml"
        yaml.write_text(json.dumps(config))  # JSON is YAML
        asyncnni = Path(sys.executable).with_name("asyncnni")
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(asyncnni), "run", str(yaml), "--quiet"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        peak = peak_rss_mb(process)
        wall = time.perf_counter() - started
        errors = process.stderr.read().decode(errors="replace") if process.stderr else ""
        if process.wait() != 0:
            raise BenchmarkFailed(f"asyncnni run of {configs} configurations failed: {errors}")
    return {"configs": configs, "peak_rss_mb": round(peak, 1), "seconds": round(wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default="10000,100000", help="sizes, comma-separated")
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    runs = [run(int(size), args.workers) for size in args.configs.split(",")]
    base = runs[0]["peak_rss_mb"]
    for entry in runs:
        entry["growth_mb"] = round(entry["peak_rss_mb"] - base, 1)
        print(
            f"{entry['configs']:>9} configurations: peak {entry['peak_rss_mb']} MB "
            f"(+{entry['growth_mb']} MB) in {entry['seconds']} s",
            file=sys.stderr,
        )
    report("memory_flat", workers=args.workers, runs=runs)


if __name__ == "__main__":
    main()
