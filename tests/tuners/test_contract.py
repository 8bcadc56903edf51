"""The contract every built-in tuner keeps, run over each of them (Optuna's pattern)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

from asyncnni import tuners
from asyncnni.errors import NoMoreTrials, PluginError, SearchSpaceError
from asyncnni.search_space import SearchSpace
from asyncnni.tuner import Tuner

from .drive import FLAT_SPACE, MIXED_SPACE, drive, info

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Case:
    name: str
    args: dict[str, Any] = field(default_factory=dict)
    nested: bool = True  # handles nested choices
    seeded: bool = True
    params: tuple[str, ...] = ()  # keys it adds to every parameter set
    normal_types: bool = True  # handles normal, qnormal, lognormal, qlognormal
    needs: str | None = None  # the module its extra installs, where it has one


def _cases(tmp: str) -> list[Case]:
    return [
        Case("Random"),
        Case("TPE", {"n_startup_trials": 5}),
        Case("Anneal"),
        Case("Evolution", {"population_size": 6}),
        Case("GP", {"n_startup_trials": 4, "n_candidates": 200}, nested=False),
        Case(
            "Metis",
            {"cold_start_num": 4, "selection_num_starting_points": 100, "no_resampling": False},
            nested=False,
        ),
        Case("RegularizedEvolutionTuner", {"population_size": 6, "sample_size": 3}),
        Case(
            "PBT",
            {"population_size": 4, "save_dir_root": tmp},
            nested=False,
            params=("load_checkpoint_dir", "save_checkpoint_dir"),
        ),
        Case("Hyperband", {"R": 9}, params=("TRIAL_BUDGET",)),
        Case(
            "BOHB",
            {"max_budget": 9, "min_points_in_model": 3},
            nested=False,
            params=("TRIAL_BUDGET",),
        ),
        Case("ASHA", {"max_budget": 9}, params=("TRIAL_BUDGET",)),
        Case(
            "SMAC",
            {"n_startup_trials": 5, "n_candidates": 200},
            nested=False,
            normal_types=False,
            needs="smac",
        ),
        Case(
            "ASHA",
            {"max_budget": 9, "resume": True, "save_dir_root": tmp},
            params=("TRIAL_BUDGET", "checkpoint_dir", "resume_from"),
        ),
    ]


CASE_NAMES = [
    "Random",
    "TPE",
    "Anneal",
    "Evolution",
    "GP",
    "Metis",
    "RegularizedEvolutionTuner",
    "PBT",
    "Hyperband",
    "BOHB",
    "ASHA",
    "ASHA-resume",
    "SMAC",
]


@pytest.fixture(params=CASE_NAMES)
def case(request: pytest.FixtureRequest, tmp_path) -> Case:
    cases = {
        (c.name + "-resume" if c.args.get("resume") else c.name): c for c in _cases(str(tmp_path))
    }
    chosen = cases[request.param]
    if chosen.needs is not None:
        pytest.importorskip(chosen.needs, reason=f"{chosen.name} needs its extra installed")
    return chosen


def make(case: Case, seed: int | None = 0) -> Tuner:
    args = dict(case.args, optimize_mode="minimize")
    if case.seeded:
        args["seed"] = seed
    return tuners.create(case.name, **args)


NORMAL_TYPES = {"normal", "qnormal", "lognormal", "qlognormal"}


def flat_for(case: Case) -> dict:
    """FLAT_SPACE, less the normal types for a tuner without them."""
    if case.normal_types:
        return FLAT_SPACE
    return {k: v for k, v in FLAT_SPACE.items() if v["_type"] not in NORMAL_TYPES}


def space_for(case: Case) -> dict:
    return MIXED_SPACE if case.nested else flat_for(case)


def assert_in_space(space: dict, params: dict, extra: tuple[str, ...]) -> None:
    parsed = SearchSpace(space)
    config = {k: v for k, v in params.items() if k not in extra}
    assert set(config) == set(space)
    # every value decodes back to itself: it lies inside its parameter's range / options
    again = parsed.decode(parsed.encode(config))
    assert all(_close(again[k], v) for k, v in config.items()), (config, again)


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, float):
        return a == pytest.approx(b, rel=1e-9, abs=1e-12)
    return a == b and type(a) is type(b)


async def test_every_type_of_the_language(case: Case) -> None:
    tuner = make(case)
    space = space_for(case)
    await tuner.update_search_space(space)
    configs = await drive(tuner, 30, lambda p: float(p["layers"]) + p["dropout"])
    assert len(configs) == 30
    for params in configs:
        assert_in_space(space, params, case.params)
        assert isinstance(params["layers"], int) and 1 <= params["layers"] <= 5
        assert params["width"] in (16, 32, 64)


async def test_nested_choices_are_sampled_or_refused(case: Case) -> None:
    tuner = make(case)
    if not case.nested:
        with pytest.raises(SearchSpaceError, match="optimizer: .*nested choice"):
            await tuner.update_search_space(MIXED_SPACE)
        return
    await tuner.update_search_space(MIXED_SPACE)
    configs = await drive(
        tuner, 40, lambda p: {"sgd": 0.0, "adam": 1.0, "none": 2.0}[p["optimizer"]["_name"]]
    )
    names = {c["optimizer"]["_name"] for c in configs}
    assert names == {"sgd", "adam", "none"}
    for c in configs:
        opt = c["optimizer"]
        expected = {
            "sgd": {"_name", "lr", "momentum"},
            "adam": {"_name", "beta"},
            "none": {"_name"},
        }
        assert set(opt) == expected[opt["_name"]]


async def test_nas_types_are_refused_naming_the_parameter(case: Case) -> None:
    tuner = make(case)
    space = dict(flat_for(case), cell={"_type": "layer_choice", "_value": ["conv3", "conv5"]})
    with pytest.raises(
        SearchSpaceError, match=f"cell: tuner {type(tuner).__name__} does not support layer_choice"
    ):
        await tuner.update_search_space(space)


async def test_same_seed_same_suggestions(case: Case) -> None:
    runs = []
    for _ in range(2):
        tuner = make(case, seed=7)
        await tuner.update_search_space(flat_for(case))
        runs.append(await drive(tuner, 15, lambda p: p["dropout"] - p["layers"]))
    assert runs[0] == runs[1]
    other = make(case, seed=8)
    await other.update_search_space(flat_for(case))
    assert await drive(other, 15, lambda p: p["dropout"] - p["layers"]) != runs[0]


async def test_failed_trials_neither_block_nor_crash(case: Case) -> None:
    tuner = make(case)
    await tuner.update_search_space(flat_for(case))
    configs = await drive(tuner, 25, lambda p: p["dropout"], fail=lambda pid: pid % 3 == 0)
    assert len(configs) == 25


async def test_import_data_warm_start(case: Case) -> None:
    donor = tuners.create("Random", seed=3)
    await donor.update_search_space(flat_for(case))
    data: list[dict] = [
        {"parameter": await donor.generate_parameters(i, **info(i)), "value": {"default": float(i)}}
        for i in range(12)
    ]
    data.append({"parameter": {"width": 7}, "value": 1.0})  # not in the space: skipped
    data.append({"parameter": data[0]["parameter"], "value": float("nan")})  # bad value: skipped
    tuner = make(case)
    await tuner.update_search_space(flat_for(case))
    await tuner.import_data(data)
    for params in await drive(tuner, 10, lambda p: p["dropout"]):
        assert_in_space(flat_for(case), params, case.params)


async def test_before_update_search_space_is_an_error(case: Case) -> None:
    with pytest.raises(RuntimeError, match="update_search_space"):
        await make(case).generate_parameters(0, **info(0))


def test_unknown_class_args_are_a_plugin_error(case: Case) -> None:
    with pytest.raises(PluginError, match=case.name):
        tuners.create(case.name, no_such_arg=1)
    with pytest.raises(PluginError, match="optimize_mode"):
        tuners.create(case.name, optimize_mode="sideways")


def test_names_are_case_insensitive_with_nni_aliases() -> None:
    for name, cls in [
        ("tpe", "TPETuner"),
        ("batchtuner", "BatchTuner"),
        ("GPTUNER", "GPTuner"),
        ("pbttuner", "PBTTuner"),
        ("gridsearch", "GridSearchTuner"),
        ("ANNEAL", "AnnealTuner"),
        ("evolution", "EvolutionTuner"),
        ("MetisTuner", "MetisTuner"),
        ("TPE_legacy", "TPETuner"),
        ("RegularizedEvolutionTuner", "RegularizedEvolutionTuner"),
    ]:
        assert tuners.registry.get(name).__name__ == cls


# NNI 3.0's built-in tuner list (nni/runtime/default_config/builtin_algorithms.yml)
NNI_TUNER_NAMES = [
    "PPO",
    "PPOTuner",
    "SMAC",
    "TPE",
    "TPE_legacy",
    "Random",
    "Anneal",
    "Evolution",
    "Batch",
    "BatchTuner",
    "GridSearch",
    "NetworkMorphism",
    "Metis",
    "MetisTuner",
    "GP",
    "GPTuner",
    "PBT",
    "PBTTuner",
    "RegularizedEvolutionTuner",
    "DNGO",
    "DNGOTuner",
    "Hyperband",
    "BOHB",
]


@pytest.mark.parametrize("name", NNI_TUNER_NAMES)
def test_every_nni_tuner_name_answers(name: str) -> None:
    why = tuners.unavailable(name)
    if why is None:
        assert isinstance(tuners.registry.get(name), type)
    else:
        with pytest.raises(PluginError, match=f"{name}' is not available: .+"):
            tuners.registry.get(name)


async def test_grid_and_batch_end_with_no_more_trials() -> None:
    grid = tuners.create("GridSearch")
    await grid.update_search_space(
        {"a": {"_type": "choice", "_value": [1, 2]}, "b": {"_type": "randint", "_value": [0, 3]}}
    )
    assert len(await drive(grid, 100)) == 6
    with pytest.raises(NoMoreTrials):
        await grid.generate_parameters(100, **info(100))
    batch = tuners.create("Batch")
    await batch.update_search_space(
        {"combine_params": {"_type": "choice", "_value": [{"x": 1}, {"x": 2}]}}
    )
    assert await drive(batch, 100) == [{"x": 1}, {"x": 2}]


async def test_overlapping_asks_are_all_served(case: Case) -> None:
    """The asynchronous dispatcher runs each ask in its own task; they may overlap."""
    tuner = make(case)
    await tuner.update_search_space(flat_for(case))
    await drive(tuner, 12, lambda p: p["dropout"] - p["layers"])
    results: dict[int, dict] = {}

    async def ask(pid: int) -> None:
        results[pid] = await tuner.generate_parameters(pid, **info(pid))

    async with anyio.create_task_group() as tg:
        for pid in range(100, 104):
            tg.start_soon(ask, pid)
    assert len(results) == 4
    for params in results.values():
        assert_in_space(flat_for(case), params, case.params)
