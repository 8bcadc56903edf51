"""What every benchmark reports: percentiles, the machine, memory, and the one JSON line.

Shared by ``asyncnni bench`` and the scripts in ``benchmarks/``, so every figure is computed
and labelled the same way.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def percentiles_us(samples_ns: np.ndarray | Iterable[int]) -> dict[str, float | None]:
    """p50, p90 and p99 of latencies given in nanoseconds, in microseconds (None when empty)."""
    samples = np.asarray(samples_ns, dtype=np.int64)
    if samples.size == 0:
        return {"p50_us": None, "p90_us": None, "p99_us": None}
    p50, p90, p99 = np.percentile(samples, [50, 90, 99]) / 1000.0
    return {"p50_us": round(p50, 1), "p90_us": round(p90, 1), "p99_us": round(p99, 1)}


def machine() -> str:
    """A one-line description of this machine: CPU model, cores, memory, OS, Python."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / 2**30:.0f} GiB"
    except (ValueError, OSError):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    python = f"Python {platform.python_version()}"
    return f"{cpu}, {cores} cores{memory}, {platform.system()} {platform.release()}, {python}"


def today() -> str:
    return datetime.date.today().isoformat()


def emit(record: dict[str, Any]) -> None:
    """Print one benchmark record as one JSON line on stdout (tables go to stderr)."""
    print(json.dumps(record), flush=True)


def _status_kib(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_mb() -> float | None:
    """This process's resident memory now (VmRSS), in MB; None where /proc is missing."""
    kib = _status_kib("VmRSS")
    return None if kib is None else round(kib / 1024, 1)


def peak_rss_mb() -> float | None:
    """This process's peak resident memory (VmHWM) since start or since :func:`reset_peak_rss`."""
    kib = _status_kib("VmHWM")
    if kib is None:  # not Linux: ru_maxrss is KiB on Linux, bytes on macOS
        import resource

        scale = 1 if sys.platform == "darwin" else 1024
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20, 1)
    return round(kib / 1024, 1)


def reset_peak_rss() -> bool:
    """Restart the peak (VmHWM) from the current RSS, so one run's peak is not an earlier
    run's; False where the kernel does not allow it (then peaks carry over)."""
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False
