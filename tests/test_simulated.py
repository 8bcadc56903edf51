"""``platform: simulated``: coroutine trial jobs on a virtual clock, through the real
dispatcher and store."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from asyncnni.catalog import export_rows
from asyncnni.errors import ConfigError
from asyncnni.experiment import Experiment
from asyncnni.protocol import TrialEvent
from asyncnni.store import open_reader
from asyncnni.training._clock import VirtualClock

H6 = "asyncnni.bench.functions:MF_HARTMANN6"
FAILED = TrialEvent.FAILED
X = {"x": {"_type": "uniform", "_value": [0, 1]}}


def linear(parameters: dict, budget: float) -> float:
    """A test function: the loss is x, whatever the budget."""
    return parameters["x"]


def curve(parameters: dict, budget: float) -> list[float]:
    return [parameters["x"] / (epoch + 1) for epoch in range(int(budget))]


@pytest.mark.anyio
async def test_the_clock_wakes_sleepers_in_time_order_and_runs_timers_first() -> None:
    clock, seen = VirtualClock(), []

    async def job(name: str, seconds: list[float]) -> None:
        with clock.job():
            for s in seconds:
                await clock.sleep(s)
                seen.append((clock.now, name))

    clock.call_at(4.0, lambda: seen.append((clock.now, "timer")))
    async with anyio.create_task_group() as tg:
        tg.start_soon(job, "a", [3.0, 3.0])
        tg.start_soon(job, "b", [5.0])
    assert seen == [(3.0, "a"), (4.0, "timer"), (5.0, "b"), (6.0, "a")]
    assert clock.trained == 11.0


def config(tmp_path: Path, function: str, **overrides) -> dict:
    return {
        "search_space": X,
        "trial_command": "unused: simulated trials are coroutines",
        "trial_concurrency": 4,
        "max_trial_number": 12,
        "tuner": {"name": "Random", "class_args": {"optimize_mode": "minimize", "seed": 0}},
        "training_service": {"platform": "simulated", "function": function},
        "experiment_working_directory": str(tmp_path),
        **overrides,
    }


def run(cfg: dict) -> tuple[Experiment, list[dict]]:
    experiment = Experiment(cfg)
    result = experiment.run()
    assert result.status in ("DONE", "STOPPED"), result
    rows = [r for r in export_rows(experiment.folder.parent, experiment.id) if r["final_metric"]]
    return experiment, sorted(rows, key=lambda r: r["parameter_id"])


def test_jobs_train_for_budget_times_cost_on_the_virtual_clock(tmp_path: Path) -> None:
    cfg = config(tmp_path, f"{__name__}:linear")
    cfg["training_service"].update(cost_per_unit=60, max_budget=10)  # 10 minutes a trial
    experiment, rows = run(cfg)
    assert len(rows) == 12
    for row in rows:
        metric = row["final_metric"]
        assert metric["default"] == row["parameters"]["x"]
        assert metric["ended"] - metric["started"] == 600
    # four workers, never idle: three rounds of ten simulated minutes
    assert sorted({r["final_metric"]["ended"] for r in rows}) == [600, 1200, 1800]
    clock = experiment.service.clock
    assert clock.now == 1800 and clock.trained == 12 * 600


def test_a_curve_is_reported_epoch_by_epoch(tmp_path: Path) -> None:
    cfg = config(tmp_path, f"{__name__}:curve", max_trial_number=3)
    cfg["training_service"].update(max_budget=4)
    experiment, rows = run(cfg)
    reader = open_reader(experiment.folder)
    try:
        for row in rows:
            x = row["parameters"]["x"]
            assert reader.intermediate_results(row["parameter_id"]) == pytest.approx(
                [x, x / 2, x / 3, x / 4]
            )
            assert row["final_metric"]["default"] == pytest.approx(x / 4)
    finally:
        reader.close()


def test_asha_promotions_resume_in_the_same_job_and_pay_only_the_difference(tmp_path: Path) -> None:
    cfg = config(
        tmp_path,
        H6,
        search_space={f"x{i}": {"_type": "uniform", "_value": [0, 1]} for i in range(1, 7)},
        multi_phase=True,
        max_trial_number=None,
        max_configuration_number=60,
        tuner={
            "name": "ASHA",
            "class_args": {
                "optimize_mode": "minimize",
                "seed": 0,
                "max_budget": 9,
                "resume": True,
                "save_dir_root": str(tmp_path / "ckpt"),
            },
        },
    )
    cfg["training_service"].update(max_budget=9, cost_per_unit=60)
    _, rows = run(cfg)
    promoted = [r for r in rows if r["parameters"]["resume_from"]]
    assert promoted, "something was promoted"
    for row in promoted:
        budget = row["parameters"]["TRIAL_BUDGET"]
        metric = row["final_metric"]
        assert metric["ended"] - metric["started"] == (budget - budget / 3) * 60
    # a worker that asks again continues its own configuration when that one is promotable
    by_job: dict[str, list[dict]] = {}
    for row in rows:
        by_job.setdefault(row["trial_job_id"], []).append(row)
    continued = sum(
        b["parameters"]["resume_from"] == a["parameters"]["checkpoint_dir"]
        for steps in by_job.values()
        for a, b in zip(steps, steps[1:], strict=False)
    )
    assert continued > 0


def test_a_benchmark_stops_the_experiment_at_a_simulated_time(tmp_path: Path) -> None:
    cfg = config(tmp_path, H6, max_trial_number=None)
    cfg["search_space"] = {f"x{i}": {"_type": "uniform", "_value": [0, 1]} for i in range(1, 7)}
    experiment = Experiment(cfg)
    experiment.on_start = lambda e: e.service.clock.call_at(
        5 * 3600, lambda: e.stop("simulated time is up")
    )
    result = experiment.run()
    assert result.status == "STOPPED" and result.message == "simulated time is up"
    assert experiment.service.clock.now == 5 * 3600
    ended = [
        r["final_metric"]["ended"]
        for r in export_rows(experiment.folder.parent, experiment.id)
        if r["final_metric"]
    ]
    assert len(ended) == 4 * 3 and max(ended) <= 5 * 3600  # 81 minutes a trial: three rounds


def test_max_trial_duration_kills_at_the_exact_simulated_time(tmp_path: Path) -> None:
    """A job still running max_trial_duration simulated seconds after its start is killed
    then, FAILED, as the local service kills one after that many real seconds."""
    cfg = config(
        tmp_path,
        f"{__name__}:curve",
        trial_concurrency=2,
        max_trial_number=4,
        max_trial_duration=3030,  # 50 epochs of a minute, and half of the next one
    )
    cfg["training_service"].update(cost_per_unit=60, max_budget=81)
    experiment, ends = Experiment(cfg), []
    experiment.on_trial_end = lambda summary: ends.append(
        (experiment.service.clock.now, summary.outcome.event, summary.outcome.message)
    )
    assert experiment.run().status == "DONE"
    killed = (FAILED, "killed after max_trial_duration (3030s)")
    assert ends == [(3030.0, *killed)] * 2 + [(6060.0, *killed)] * 2
    reader = open_reader(experiment.folder)
    try:
        assert reader.final_results() == []
        for parameter_id in range(4):  # one a minute until the kill, none after it
            assert len(reader.intermediate_results(parameter_id)) == 50
    finally:
        reader.close()


def test_max_experiment_duration_is_simulated_time(tmp_path: Path) -> None:
    cfg = config(tmp_path, f"{__name__}:linear", max_trial_number=None)
    cfg.update(max_experiment_duration=7230)  # twelve rounds of ten simulated minutes, and a bit
    cfg["training_service"].update(cost_per_unit=60, max_budget=10)
    experiment = Experiment(cfg)
    result = experiment.run()
    assert (result.status, result.message) == ("DONE", "max_experiment_duration reached")
    assert experiment.service.clock.now == 7230
    ended = [
        r["final_metric"]["ended"]
        for r in export_rows(experiment.folder.parent, experiment.id)
        if r["final_metric"]
    ]
    assert len(ended) == 4 * 12 and max(ended) == 7200


@pytest.mark.parametrize(
    ("service", "message"),
    [
        ({"platform": "simulated"}, "training_service.function: required"),
        ({"platform": "simulated", "function": "nowhere"}, "pkg.module:name"),
        ({"platform": "simulated", "function": "asyncnni.nothing:f"}, "cannot load"),
        ({"platform": "simulated", "function": H6, "cost_per_unit": 0}, "positive number"),
    ],
)
def test_a_bad_simulated_service_is_refused_before_anything_starts(
    tmp_path: Path, service: dict, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Experiment(config(tmp_path, H6, training_service=service)).run()
    assert not any(tmp_path.iterdir()) or not list(tmp_path.glob("*/experiment.db"))


@pytest.mark.parametrize("resume", [False, True])
def test_asha_keeps_every_worker_busy_in_asynchronous_mode(tmp_path: Path, resume: bool) -> None:
    args = {"optimize_mode": "minimize", "seed": 1, "max_budget": 27}
    if resume:
        args.update(resume=True, save_dir_root=str(tmp_path / "ckpt"))
    cfg = config(
        tmp_path,
        H6,
        search_space={f"x{i}": {"_type": "uniform", "_value": [0, 1]} for i in range(1, 7)},
        multi_phase=True,
        async_dispatcher=True,
        max_trial_number=None,
        tuner={"name": "ASHA", "class_args": args},
    )
    experiment = Experiment(cfg)
    budget = 6 * 3600.0
    experiment.on_start = lambda e: e.service.clock.call_at(budget, lambda: e.stop("time is up"))
    assert experiment.run().status == "STOPPED"
    clock = experiment.service.clock
    assert clock.now == budget
    assert clock.trained == pytest.approx(4 * budget)  # not one simulated second idle


@pytest.mark.slow
def test_thousands_of_short_trial_jobs_do_not_stall_the_dispatcher(tmp_path: Path) -> None:
    """Each job's socket closes when it ends; the ROUTER's disconnect events are read as they
    come (unread, about 2,000 of them filled the monitor's queue and stopped all traffic)."""
    cfg = config(tmp_path, f"{__name__}:linear", max_trial_number=2200)
    experiment, rows = run(cfg)
    assert len(rows) == 2200
    assert experiment.service.clock.now == 2200 / 4
