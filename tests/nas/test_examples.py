"""The one-shot examples of trials/nas run (at one epoch), and the distributed example's
search_space.json is what ss-gen makes of space.py today."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from asyncnni.nas import apply_fixed_architecture, generate_search_space
from asyncnni.nas.ssgen import load_builder

EXAMPLES = Path(__file__).parents[2] / "trials" / "nas"


def test_the_committed_search_space_matches_the_model(monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))  # load_builder adds the example's folder
    committed = json.loads((EXAMPLES / "distributed" / "search_space.json").read_text())
    assert generate_search_space(f"{EXAMPLES / 'space.py'}:build_model") == committed


@pytest.mark.slow
@pytest.mark.parametrize("method", ["darts", "enas"])
def test_one_shot_example_runs_and_exports_an_architecture(method, tmp_path, monkeypatch):
    out = tmp_path / "arch.json"
    done = subprocess.run(
        [sys.executable, "oneshot.py", "--method", method, "--epochs", "1", "--samples", "128"]
        + ["--output", str(out)],
        cwd=EXAMPLES,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout.strip().splitlines()[-1])
    assert printed["architecture"] == json.loads(out.read_text())
    assert printed["final"]["epoch"] == 0 and 0.0 <= printed["final"]["valid_acc"] <= 1.0
    monkeypatch.setattr(sys, "path", list(sys.path))
    apply_fixed_architecture(load_builder(f"{EXAMPLES / 'space.py'}:build_model")(), out)
