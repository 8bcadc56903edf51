"""benchmarks/tuner_quality.py runs at a tiny size (with suggestions pending, seeds in worker
processes) and prints one JSON line of figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "tuner_quality.py"


def test_tiny_run_prints_one_json_line() -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--seeds",
            "1",
            "--trials",
            "25",
            "--tuners",
            "Random,TPE",
            "--timing-obs",
            "30",
            "--timing-asks",
            "2",
            "--rounds",
            "25",
            "--pending",
            "3",
            "--jobs",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    tpe = report["results"]["TPE"]
    assert set(tpe) >= {
        "branin",
        "hartmann6",
        "mixed",
        "ms_per_suggestion@30",
        "hartmann6_25_rounds_s",
    }
    assert report["pending"] == 3
    branin = tpe["branin"]["regret@25"]
    assert 0 <= branin["q25"] <= branin["median"] <= branin["q75"]
    assert tpe["rosenbrock4"]["regret@25"]["median"] >= 0
    assert "tuner" in out.stderr  # the readable table
