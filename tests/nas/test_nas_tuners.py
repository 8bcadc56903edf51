"""NASRandom and NASEvolution, driven through the search-space language as the dispatcher does."""

from __future__ import annotations

import anyio
import pytest

from asyncnni import tuners
from asyncnni.errors import NoMoreTrials, SearchSpaceError
from asyncnni.tuner import TrialOutcome, TunerDriver

pytestmark = pytest.mark.anyio

SMALL = {
    "op": {"_type": "layer_choice", "_value": ["conv3x3", "conv5x5", "maxpool", "zero"]},
    "skip": {"_type": "input_choice", "_value": {"candidates": ["stem", "op"], "n_chosen": 1}},
}
# 4**5 * C(4, 2) = 6144 architectures; the objective counts keys set to index 3 (or {0, 3})
WIDE = {
    **{f"op{i}": {"_type": "layer_choice", "_value": ["a", "b", "c", "d"]} for i in range(5)},
    "inputs": {
        "_type": "input_choice",
        "_value": {"candidates": ["w", "x", "y", "z"], "n_chosen": 2},
    },
}


def objective(params: dict) -> float:
    return sum(p["_idx"] == 3 for k, p in params.items() if k != "inputs") + (
        params["inputs"]["_idx"] == [0, 3]
    )


class Outcomes:
    """Parameter events, as the dispatcher keeps them."""

    def __init__(self) -> None:
        self._events: dict[int, anyio.Event] = {}
        self._outcomes: dict[int, TrialOutcome] = {}

    async def __call__(self, parameter_id: int) -> TrialOutcome:
        await self._events.setdefault(parameter_id, anyio.Event()).wait()
        return self._outcomes[parameter_id]

    def resolve(self, outcome: TrialOutcome) -> None:
        self._outcomes[outcome.parameter_id] = outcome
        self._events.setdefault(outcome.parameter_id, anyio.Event()).set()


async def run(tuner, space, limit=1000):
    """Ask, evaluate and report one trial at a time until NoMoreTrials; returns (params, value)s."""
    outcomes = Outcomes()
    driver = TunerDriver(tuner, outcomes=outcomes)
    await driver.update_search_space(space)
    history = []
    for parameter_id in range(limit):
        try:
            params = await driver.generate_parameters(parameter_id)
        except NoMoreTrials:
            return history
        value = objective(params) if "inputs" in params else float(params["op"]["_idx"])
        await driver.receive_trial_result(parameter_id, params, value)
        outcomes.resolve(TrialOutcome(parameter_id, True, value))
        history.append((params, value))
    raise AssertionError(f"no NoMoreTrials after {limit} trials")


def key(params: dict) -> str:
    return repr(sorted(params.items()))


async def test_random_tries_each_architecture_once_then_stops():
    history = await run(tuners.create("NASRandom", seed=0), SMALL)
    assert len(history) == 8 == len({key(p) for p, _ in history})
    params = history[0][0]
    assert params["op"]["_value"] == SMALL["op"]["_value"][params["op"]["_idx"]]
    assert (
        params["skip"]["_value"]
        == ["stem", "op"][params["skip"]["_idx"][0] : params["skip"]["_idx"][0] + 1]
    )


async def test_random_is_deterministic_under_its_seed():
    first = [key(p) for p, _ in await run(tuners.create("RandomNAS", seed=7), SMALL)]
    again = [key(p) for p, _ in await run(tuners.create("RandomNAS", seed=7), SMALL)]
    other = [key(p) for p, _ in await run(tuners.create("RandomNAS", seed=8), SMALL)]
    assert first == again and first != other


async def test_random_skips_imported_architectures():
    tuner = tuners.create("NASRandom", seed=0)
    driver = TunerDriver(tuner)
    await driver.update_search_space(SMALL)
    seen = {"op": {"_value": "zero", "_idx": 3}, "skip": {"_value": ["op"], "_idx": [1]}}
    await driver.import_data([{"parameter": seen, "value": 0.5}])
    handed = [await driver.generate_parameters(i) for i in range(7)]
    assert seen not in handed
    with pytest.raises(NoMoreTrials):
        await driver.generate_parameters(7)


@pytest.mark.parametrize("name", ["NASRandom", "NASEvolution"])
async def test_other_types_are_refused_naming_the_key(name):
    driver = TunerDriver(tuners.create(name))
    with pytest.raises(SearchSpaceError, match=f"lr: tuner {name} does not support uniform"):
        await driver.update_search_space({**SMALL, "lr": {"_type": "uniform", "_value": [0, 1]}})


async def test_evolution_improves_over_generations_and_stops():
    tuner = tuners.create(
        "SPOSEvolution",
        population_size=12,
        num_select=4,
        mutation_prob=0.2,
        num_generations=5,
        seed=3,
    )
    history = await run(tuner, WIDE)
    assert len(history) == 60 == len({key(p) for p, _ in history})
    values = [v for _, v in history]
    first, last = values[:12], values[-12:]
    # random architectures score 1.42 on average; the optimum is 6
    assert sum(last) / 12 >= sum(first) / 12 + 0.75
    assert max(values) >= 5


async def test_evolution_is_deterministic_under_its_seed():
    def make(seed):
        return tuners.create("NASEvolution", population_size=6, num_generations=3, seed=seed)

    first = [key(p) for p, _ in await run(make(1), WIDE)]
    assert first == [key(p) for p, _ in await run(make(1), WIDE)]
    assert first != [key(p) for p, _ in await run(make(2), WIDE)]


async def test_evolution_breeds_a_generation_only_after_the_last_one_ended():
    outcomes = Outcomes()
    driver = TunerDriver(
        tuners.create("NASEvolution", population_size=2, num_generations=2, seed=0),
        outcomes=outcomes,
    )
    await driver.update_search_space(WIDE)
    first = [await driver.generate_parameters(i) for i in range(2)]
    asked: list[dict] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: _ask(driver, 2, asked))
        await anyio.wait_all_tasks_blocked()
        assert asked == []  # parameter 2 waits for generation 0
        await driver.receive_trial_result(0, first[0], 5.0)
        outcomes.resolve(TrialOutcome(0, True, 5.0))
        await anyio.wait_all_tasks_blocked()
        assert asked == []
        outcomes.resolve(TrialOutcome(1, False, reason="trial job ended FAILED"))
    assert len(asked) == 1 and asked[0] not in first
    await driver.generate_parameters(3)
    with pytest.raises(NoMoreTrials):
        await driver.generate_parameters(4)


async def _ask(driver, parameter_id, into):
    into.append(await driver.generate_parameters(parameter_id))


def test_evolution_refuses_bad_arguments():
    from asyncnni.errors import PluginError

    with pytest.raises(PluginError, match="mutation_prob"):
        tuners.create("NASEvolution", mutation_prob=2.0)
