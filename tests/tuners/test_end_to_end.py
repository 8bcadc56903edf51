"""Every built-in tuner through ``Experiment.run`` with real trial processes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from asyncnni.catalog import export_rows
from asyncnni.experiment import Experiment

from ..helpers import experiment_config

pytestmark = pytest.mark.slow

X = {"x": {"_type": "uniform", "_value": [0, 1]}}


@pytest.mark.parametrize(
    ("name", "space", "args"),
    [
        ("TPE", X, {"n_startup_trials": 3}),
        ("Anneal", X, {}),
        ("Evolution", X, {"population_size": 3}),
        ("GP", X, {"n_startup_trials": 3, "n_candidates": 100}),
        pytest.param(
            "SMAC",
            X,
            {"n_startup_trials": 3, "n_candidates": 100},
            marks=pytest.mark.skipif(
                importlib.util.find_spec("smac") is None, reason="SMAC needs its extra installed"
            ),
        ),
        ("GridSearch", {"x": {"_type": "quniform", "_value": [0, 1, 0.25]}}, {}),
        ("Batch", {"combine_params": {"_type": "choice", "_value": [{"x": 0.1}, {"x": 0.7}]}}, {}),
    ],
)
def test_tuner_runs_an_experiment(tmp_path: Path, name: str, space: dict, args: dict) -> None:
    if name != "Batch":
        args = dict(args, optimize_mode="maximize", **({} if name == "GridSearch" else {"seed": 0}))
    config = experiment_config(
        tmp_path,
        search_space=space,
        max_trial_number=6,
        trial_concurrency=2,
        tuner={"name": name, "class_args": args},
    )
    experiment = Experiment(config)
    result = experiment.run()
    rows = export_rows(experiment.folder.parent, experiment.id)
    expected = {"GridSearch": 5, "Batch": 2}.get(name, 6)  # the grid and the batch run out first
    assert result.status == "DONE", result
    done = [r for r in rows if r["status"] == "SUCCEEDED"]
    assert len(done) == expected
    assert all(r["final_metric"] == r["parameters"]["x"] for r in done)


def test_pbt_passes_checkpoints_between_steps(tmp_path: Path) -> None:
    config = experiment_config(
        tmp_path,
        search_space={"lr": {"_type": "loguniform", "_value": [0.01, 1]}},
        trial_command="python pbt_trial.py",
        trial_code_directory=str(Path(__file__).parent),
        max_trial_number=12,
        trial_concurrency=3,
        async_dispatcher=True,
        tuner={
            "name": "PBT",
            "class_args": {
                "population_size": 3,
                "seed": 0,
                "save_dir_root": str(tmp_path / "ckpt"),
            },
        },
    )
    experiment = Experiment(config)
    assert experiment.run().status == "DONE"
    rows = export_rows(experiment.folder.parent, experiment.id)
    assert len(rows) == 12 and all(r["status"] == "SUCCEEDED" for r in rows)
    steps = [
        json.loads((tmp_path / "ckpt" / str(r["parameter_id"]) / "state.json").read_text())["steps"]
        for r in rows
    ]
    assert max(steps) >= 3  # later steps inherited the earlier ones' checkpoints
