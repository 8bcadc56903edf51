"""The pure parts of Hyperband, BOHB and ASHA: brackets, promotions, the KDE model."""

from __future__ import annotations

import numpy as np
import pytest

from asyncnni import tuners
from asyncnni.errors import PluginError, SearchSpaceError
from asyncnni.search_space import SearchSpace
from asyncnni.tuners._bohb_model import KDE, BudgetModels
from asyncnni.tuners._successive_halving import Round, Schedule, bracket_rounds, rung_budgets
from asyncnni.tuners.asha import Rungs

pytestmark = pytest.mark.anyio

X = {"x": {"_type": "uniform", "_value": [0, 1]}}


def test_brackets_follow_nnis_formula() -> None:
    # R = 81, eta = 3: NNI's code and the paper (NNI's docstring table starts 27, 9, 6 instead)
    firsts = [bracket_rounds(s, 4, 3, 81, True)[0] for s in range(4, -1, -1)]
    assert firsts == [Round(81, 1), Round(34, 3), Round(15, 9), Round(8, 27), Round(5, 81)]
    assert bracket_rounds(4, 4, 3, 81, True) == [
        Round(81, 1),
        Round(27, 3),
        Round(9, 9),
        Round(3, 27),
        Round(1, 81),
    ]
    assert bracket_rounds(3, 4, 3, 81, True) == [
        Round(34, 3),
        Round(11, 9),
        Round(3, 27),
        Round(1, 81),
    ]
    # NNI's default R = 60: budgets are floored
    assert [r.budget for r in bracket_rounds(3, 3, 3, 60, True)] == [2, 6, 20, 60]
    # fractional budgets stay fractions
    assert [r.budget for r in bracket_rounds(2, 2, 3, 0.9, False)] == [0.1, 0.3, 0.9]
    assert rung_budgets(1, 81, 3, True) == [1, 3, 9, 27, 81]
    assert rung_budgets(0.1, 0.9, 3, False) == [0.1, 0.3, 0.9]


def schedule(parallel: bool) -> Schedule:
    drawn = iter(range(1000))
    return Schedule(
        max_budget=9,
        min_budget=1,
        eta=3,
        parallel=parallel,
        sample=lambda pid, b: {"x": next(drawn)},
    )


def test_a_round_promotes_its_best_and_skips_failures() -> None:
    s = schedule(parallel=False)
    jobs = [s.next(pid) for pid in range(9)]
    assert [j.budget for j in jobs] == [1] * 9
    assert s.next(9) is None  # serial: the round is not over, nothing to hand out
    losses = [5.0, 1.0, None, 3.0, 0.5, 9.0, 2.0, None, 7.0]  # None: failed
    for pid, loss in enumerate(losses):
        s.finish(pid, loss)
    s.finish(0, -100.0)  # a repeat is ignored
    promoted = [s.next(pid) for pid in range(9, 12)]
    assert [j.config["x"] for j in promoted] == [4, 1, 6]  # losses 0.5, 1.0, 2.0
    assert {j.budget for j in promoted} == {3}


def test_parallelism_opens_the_next_bracket_when_nothing_is_ready() -> None:
    s = schedule(parallel=True)
    jobs = [s.next(pid) for pid in range(9 + 5 + 3 + 9)]
    assert [j.budget for j in jobs] == [1] * 9 + [3] * 5 + [9] * 3 + [1] * 9
    assert [j.bracket for j in jobs[9:]] == [1] * 5 + [2] * 3 + [3] * 9


def test_a_round_where_everything_failed_ends_the_bracket() -> None:
    s = schedule(parallel=False)
    for pid in range(9):
        s.next(pid)
    for pid in range(9):
        s.finish(pid, None)
    assert s.next(9).bracket == 1  # the next bracket opened


def test_asha_promotes_the_top_third_not_yet_promoted() -> None:
    rungs = Rungs([1, 3, 9], eta=3)
    for pid in range(3):
        assert rungs.next(pid).rung == 0
    assert rungs.next(3).promoted is False  # no results yet: a new configuration
    for pid, loss in [(0, 3.0), (1, 1.0), (2, 2.0)]:
        rungs.finish(pid, loss)
    step = rungs.next(4)
    assert (step.config_id, step.rung, step.promoted) == (1, 1, True)
    assert rungs.next(5).rung == 0  # floor(3 / 3) = 1 promotion, done: a new one
    rungs.finish(3, 0.5)  # 4 results: still floor(4 / 3) = 1, and config 3 is now the best
    assert rungs.promotable(0) == [3]
    assert rungs.next(6).config_id == 3
    rungs.finish(5, None)  # failures join no rung
    assert len(rungs.results[0]) == 4


def test_asha_prefers_continuing_the_asking_jobs_configuration() -> None:
    rungs = Rungs([1, 3, 9], eta=3)
    for pid in range(6):
        rungs.next(pid)
    for pid, loss in enumerate([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]):
        rungs.finish(pid, loss)
    assert rungs.promotable(0) == [0, 1]
    assert rungs.next(6, prefer=1).config_id == 1
    assert rungs.next(7, prefer=5).config_id == 0  # 5 is not promotable: the best one is


def test_kde_is_a_density_and_samples_inside_the_unit_cube() -> None:
    rng = np.random.default_rng(0)
    data = np.column_stack([rng.random(12), rng.integers(0, 3, 12)])
    kde = KDE(data, np.array([0, 3]), min_bandwidth=1e-3)
    grid = (np.arange(2000) + 0.5) / 2000
    mass = sum(
        np.exp(kde.log_pdf(np.column_stack([grid, np.full_like(grid, k)]))).mean() for k in range(3)
    )
    assert mass == pytest.approx(1.0, rel=1e-3)
    draws = kde.sample(rng, 500, widen=3.0)
    assert ((draws[:, 0] >= 0) & (draws[:, 0] <= 1)).all()
    assert set(draws[:, 1]) <= {0.0, 1.0, 2.0}


def test_a_budgets_model_starts_at_min_points_and_splits_as_the_paper() -> None:
    space = SearchSpace(X)
    models = BudgetModels(
        space,
        np.random.default_rng(0),
        min_points=3,
        top_n_percent=15,
        num_samples=16,
        random_fraction=0.0,
        bandwidth_factor=3,
        min_bandwidth=1e-3,
    )
    for i in range(2):
        models.tell(np.array([i / 10]), 1, float(i))
    assert models.model_budget() is None and models.ask()[1] is None
    models.tell(np.array([0.9]), 1, None)  # a failure counts, as the worst
    assert models.model_budget() == 1
    for i in range(3):
        models.tell(np.array([0.5]), 3, float(i))
    assert models.model_budget() == 3 and models.ask()[1] == 3
    for i in range(20):
        models.tell(np.array([i / 20]), 9, float(i))
    good, bad = models.split(9)
    assert len(good) == 3 and len(bad) == 17  # n_l = max(3, 15% of 20), n_g = max(3, 20 - n_l)
    assert good[0][0] == 0.0 and bad[-1][0] == 0.95


async def test_the_budget_key_and_checkpoint_keys_are_reserved() -> None:
    for name in ("Hyperband", "BOHB", "ASHA"):
        tuner = tuners.create(name)
        with pytest.raises(SearchSpaceError, match="TRIAL_BUDGET: tuner .* adds this key"):
            await tuner.update_search_space({"TRIAL_BUDGET": X["x"]})


async def test_asha_resume_needs_a_folder(tmp_path) -> None:
    tuner = tuners.create("ASHA", resume=True)
    with pytest.raises(PluginError, match="shared_storage or give save_dir_root"):
        await tuner.update_search_space(X)
    tuner.shared_dir = tmp_path
    await tuner.update_search_space(X)
    params = await tuner.generate_parameters(0, trial_job_id="a", parameter_index=0)
    assert params["checkpoint_dir"] == str(tmp_path / "asha" / "0")
    assert params["resume_from"] is None


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("Hyperband", {"R": 0.5}, "R must be at least 1"),
        ("Hyperband", {"eta": 1}, "eta must be greater than 1"),
        ("Hyperband", {"exec_mode": "fast"}, "exec_mode"),
        ("BOHB", {"min_budget": 5, "max_budget": 3}, "min_budget <= max_budget"),
        ("BOHB", {"config_space": "x.pcs"}, "config_space"),
        ("BOHB", {"top_n_percent": 100}, "top_n_percent"),
        ("ASHA", {"eta": 0.5}, "eta > 1"),
    ],
)
def test_bad_class_args_are_refused(name: str, args: dict, message: str) -> None:
    with pytest.raises(PluginError, match=message):
        tuners.create(name, **args)
