"""Hyperband, BOHB and ASHA through ``Experiment.run`` with real trial processes (multi-phase
workers), asserted on the parameter sets they handed out."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncnni.catalog import export_rows
from asyncnni.experiment import Experiment
from asyncnni.store import open_reader

from .. import traces
from ..helpers import experiment_config

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
XY = {"x": {"_type": "uniform", "_value": [0, 1]}, "y": {"_type": "uniform", "_value": [0, 0.1]}}


def run(
    tmp_path: Path, tuner: dict, n: int, trial: str = "budget_trial.py", **overrides
) -> tuple[Experiment, list[dict]]:
    config = experiment_config(
        tmp_path,
        search_space=XY,
        trial_command=f"python {trial}",
        trial_code_directory=str(HERE),
        max_configuration_number=n,
        multi_phase=True,
        tuner=tuner,
        **overrides,
    )
    experiment = Experiment(config)
    result = experiment.run()
    assert result.status == "DONE", result
    rows = export_rows(experiment.folder.parent, experiment.id)
    # a worker asking once the limit is reached gets no parameters: its row has none
    rows = sorted(
        (r for r in rows if r["parameter_id"] is not None), key=lambda r: r["parameter_id"]
    )
    assert len(rows) == n and all(r["status"] == "SUCCEEDED" for r in rows)
    if trial == "curve_trial.py":  # what the tuner ranks by: the value at step TRIAL_BUDGET
        store = open_reader(experiment.folder)
        try:
            for row in rows:
                epochs = store.intermediate_results(row["parameter_id"])
                row["at_budget"] = epochs[row["parameters"]["TRIAL_BUDGET"] - 1]
        finally:
            store.close()
    else:
        for row in rows:
            row["at_budget"] = row["final_metric"]["default"]
    return experiment, rows


def config_of(row: dict) -> tuple[float, float]:
    return row["parameters"]["x"], row["parameters"]["y"]


# NNI's brackets for R = 9, eta = 3: s_max = 2; bracket s has n = ceil(3 * 3**s / (s + 1))
# configurations at budget 9 / 3**s, and each round keeps floor(n / 3**i) at budget 3**i times more
BRACKETS_R9 = [[(9, 1), (3, 3), (1, 9)], [(5, 3), (1, 9)], [(3, 9)]]


@pytest.mark.parametrize(
    ("exec_mode", "concurrency", "async_dispatcher", "trial"),
    [
        ("serial", 3, True, "budget_trial.py"),
        ("parallelism", 1, False, "budget_trial.py"),
        ("serial", 3, True, "curve_trial.py"),  # ranked by the value at step TRIAL_BUDGET
    ],
)
def test_hyperband_hands_out_the_brackets_of_nni(
    tmp_path: Path, exec_mode: str, concurrency: int, async_dispatcher: bool, trial: str
) -> None:
    n = sum(k for bracket in BRACKETS_R9 for k, _ in bracket)
    args = {"R": 9, "eta": 3, "exec_mode": exec_mode, "optimize_mode": "minimize", "seed": 0}
    _, rows = run(
        tmp_path,
        {"name": "Hyperband", "class_args": args},
        n,
        trial,
        trial_concurrency=concurrency,
        async_dispatcher=async_dispatcher,
    )
    at = 0
    for bracket in BRACKETS_R9:
        previous: list[dict] = []
        for k, budget in bracket:
            this = rows[at : at + k]
            at += k
            assert [r["parameters"]["TRIAL_BUDGET"] for r in this] == [budget] * k
            if previous:  # the round's configurations are the best k of the round before
                best = sorted(previous, key=lambda r: r["at_budget"])[:k]
                assert sorted(map(config_of, this)) == sorted(map(config_of, best))
            else:  # a new bracket draws new configurations
                assert len(set(map(config_of, this))) == k
            previous = this


def test_bohb_uses_a_budgets_model_only_after_min_points_in_model_results(tmp_path: Path) -> None:
    args = {
        "min_budget": 1,
        "max_budget": 9,
        "eta": 3,
        "min_points_in_model": 4,
        "random_fraction": 0,
        "optimize_mode": "minimize",
        "seed": 0,
    }
    experiment, rows = run(tmp_path, {"name": "BOHB", "class_args": args}, 30, trial_concurrency=1)
    model_used = experiment.dispatcher.tuner.tuner.model_used
    results: dict[int, int] = {}  # budget -> results so far (one worker: every earlier one)
    new = 0
    for row in rows:
        budget = row["parameters"]["TRIAL_BUDGET"]
        if row["parameter_id"] in model_used:  # a new configuration, drawn by the model or not
            new += 1
            ready = [b for b, count in results.items() if count >= 4]
            assert model_used[row["parameter_id"]] == (max(ready) if ready else None), row
        results[budget] = results.get(budget, 0) + 1
    assert new == 9 + 5 + 3 + 8  # the first rounds: brackets s = 2, 1, 0, and 8 of the next s = 2
    assert set(model_used.values()) == {None, 1, 3, 9}  # the prior, then ever larger budgets


@pytest.mark.parametrize(
    ("resume", "trial"),
    [(False, "budget_trial.py"), (True, "budget_trial.py"), (False, "curve_trial.py")],
)
def test_asha_promotes_exactly_the_top_third_of_a_rung(
    tmp_path: Path, resume: bool, trial: str
) -> None:
    args = {"min_budget": 1, "max_budget": 9, "eta": 3, "optimize_mode": "minimize", "seed": 0}
    if resume:
        args.update(resume=True, save_dir_root=str(tmp_path / "ckpt"))
    _, rows = run(tmp_path, {"name": "ASHA", "class_args": args}, 40, trial, trial_concurrency=1)
    budgets = [1, 3, 9]
    rungs: list[dict[tuple, float]] = [{} for _ in budgets]
    promoted: list[set[tuple]] = [set() for _ in budgets]
    for row in rows:  # replay: one worker, so each ask saw every earlier result
        config, budget = config_of(row), row["parameters"]["TRIAL_BUDGET"]
        rung = budgets.index(budget)
        top = {
            r: {c for c, _ in sorted(rungs[r].items(), key=lambda kv: kv[1])[: len(rungs[r]) // 3]}
            - promoted[r]
            for r in range(len(budgets) - 1)
        }
        if rung == 0:
            assert not any(top.values()), "a promotion was due, a new configuration came"
        else:
            assert config in top[rung - 1], (
                f"{config} is not among the best third of rung {rung - 1}"
            )
            assert not any(top[r] for r in range(rung, len(budgets) - 1)), (
                "a higher rung came first"
            )
            promoted[rung - 1].add(config)
        if resume:
            params = row["parameters"]
            assert (params["resume_from"] is None) == (rung == 0)
            assert row["final_metric"]["trained_from"] == (budgets[rung - 1] if rung else 0)
        rungs[rung][config] = row["at_budget"]
    # a promotion was right when made; a later, better configuration may push it out of the
    # top third (ASHA's trade for never waiting), so more than a third may have been promoted
    assert rungs[2], "the top rung was reached"


def test_the_quickstart_model_trains_for_its_trial_budget_under_bohb(tmp_path: Path) -> None:
    config = traces.example("multi_fidelity", tmp_path, max_trial_number=4)
    config.tuner.class_args.update(max_budget=3, seed=0)  # budgets 1 and 3
    done = traces.run(config)
    assert done.result.status == "DONE", done.result.message
    rows = sorted(done.configured, key=lambda r: r["parameter_id"])
    assert [r["parameters"]["TRIAL_BUDGET"] for r in rows][:3] == [1, 1, 1]
    store = open_reader(done.result.folder)
    try:  # one intermediate result per epoch: the model trained for TRIAL_BUDGET epochs
        for row in rows:
            epochs = store.intermediate_results(row["parameter_id"])
            assert len(epochs) == row["parameters"]["TRIAL_BUDGET"]
            assert epochs[-1] == row["final_metric"]
    finally:
        store.close()
