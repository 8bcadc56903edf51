"""GridSearch and Batch: exactly their points, once each, then NoMoreTrials."""

from __future__ import annotations

import pytest

from asyncnni import tuners
from asyncnni.errors import NoMoreTrials, SearchSpaceError
from asyncnni.search_space import SearchSpace
from asyncnni.tuners.grid import grid_values

from .drive import drive, info

pytestmark = pytest.mark.anyio


def test_grid_values_of_q_types_follow_nni_rounding() -> None:
    space = SearchSpace(
        {
            "a": {"_type": "quniform", "_value": [0.1, 1.0, 0.25]},
            "b": {"_type": "qloguniform", "_value": [1, 100, 30]},
            "c": {"_type": "randint", "_value": [2, 5]},
        }
    )
    a, b, c = (grid_values(p) for p in space.dims)
    assert a == [0.1, 0.25, 0.5, 0.75, 1.0]
    assert b == [1.0, 30.0, 60.0, 90.0]  # round(100 / 30) * 30 = 90: 100 is never drawn
    assert c == [2, 3, 4]


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ({"_type": "uniform", "_value": [0, 1]}, "a continuous range without q"),
        ({"_type": "qnormal", "_value": [0, 1, 0.5]}, "an unbounded range"),
    ],
)
async def test_grid_refuses_what_it_cannot_enumerate(spec: dict, why: str) -> None:
    tuner = tuners.create("GridSearch")
    with pytest.raises(
        SearchSpaceError, match=f"lr: GridSearch cannot enumerate {spec['_type']} \\({why}\\)"
    ):
        await tuner.update_search_space({"n": {"_type": "choice", "_value": [1]}, "lr": spec})


async def test_grid_expands_nested_choices_and_skips_imported_points() -> None:
    tuner = tuners.create("GridSearch")
    await tuner.update_search_space(
        {
            "opt": {
                "_type": "choice",
                "_value": [
                    {"_name": "sgd", "m": {"_type": "choice", "_value": [0.0, 0.9]}},
                    {"_name": "adam"},
                ],
            },
            "n": {"_type": "randint", "_value": [0, 2]},
        }
    )
    await tuner.import_data([{"parameter": {"opt": {"_name": "adam"}, "n": 1}, "value": 1.0}])
    points = await drive(tuner, 100)
    assert points == [
        {"opt": {"_name": "sgd", "m": 0.0}, "n": 0},
        {"opt": {"_name": "sgd", "m": 0.0}, "n": 1},
        {"opt": {"_name": "sgd", "m": 0.9}, "n": 0},
        {"opt": {"_name": "sgd", "m": 0.9}, "n": 1},
        {"opt": {"_name": "adam"}, "n": 0},
    ]


async def test_batch_runs_exactly_the_listed_configurations() -> None:
    tuner = tuners.create("BatchTuner")
    configs = [{"lr": 0.1, "bs": 32}, {"lr": 0.01, "bs": 64}, {"lr": 0.001, "bs": 128}]
    await tuner.update_search_space({"combine_params": {"_type": "choice", "_value": configs}})
    await tuner.import_data([{"parameter": configs[1], "value": 0.3}])
    assert await drive(tuner, 10) == [configs[0], configs[2]]
    with pytest.raises(NoMoreTrials):
        await tuner.generate_parameters(10, **info(10))


async def test_batch_takes_nnis_single_choice_under_any_key() -> None:
    tuner = tuners.create("BatchTuner")
    configs = [{"optimizer": "Adam", "lr": 0.001}, {"optimizer": "SGD", "lr": 0.01}]
    await tuner.update_search_space({"params": {"_type": "choice", "_value": configs}})
    assert await drive(tuner, 2) == configs


@pytest.mark.parametrize(
    ("space", "key"),
    [
        ({"lr": {"_type": "choice", "_value": [1]}}, "lr/0"),
        ({"a": {"_type": "choice", "_value": [{}]}, "b": {}}, "combine_params"),
        ({"combine_params": {"_type": "uniform", "_value": [0, 1]}}, "combine_params"),
        ({"combine_params": {"_type": "choice", "_value": [1, 2]}}, "combine_params/0"),
        ([], "combine_params"),
    ],
)
async def test_batch_refuses_other_spaces(space: object, key: str) -> None:
    with pytest.raises(SearchSpaceError, match=f"^{key}:"):
        await tuners.create("Batch").update_search_space(space)  # type: ignore[arg-type]
