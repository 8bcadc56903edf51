"""PPOTuner: NNI's PPO search over NAS spaces, driven as the dispatcher drives it."""

from __future__ import annotations

import anyio
import pytest

from asyncnni import tuners
from asyncnni.errors import PluginError, SearchSpaceError
from asyncnni.tuner import TrialOutcome, TunerDriver

from .test_nas_tuners import SMALL, WIDE, Outcomes, key, objective

pytestmark = pytest.mark.anyio


async def run(tuner, space, trials, value=objective, fail=lambda pid: False):
    """``trials`` serial trials, ask / evaluate / report; returns (params, value)s."""
    outcomes = Outcomes()
    driver = TunerDriver(tuner, outcomes=outcomes)
    await driver.update_search_space(space)
    history = []
    for parameter_id in range(trials):
        params = await driver.generate_parameters(parameter_id)
        if fail(parameter_id):
            outcomes.resolve(TrialOutcome(parameter_id, False, reason="trial job ended FAILED"))
            continue
        result = value(params)
        await driver.receive_trial_result(parameter_id, params, result)
        outcomes.resolve(TrialOutcome(parameter_id, True, result))
        history.append((params, result))
    return history


def ppo(**args):
    defaults = {"trials_per_update": 20, "minibatch_size": 5, "lr": 0.05, "seed": 0}
    return tuners.create("PPOTuner", **(defaults | args))


async def test_improves_over_random_on_a_toy_reward():
    history = await run(ppo(), WIDE, 240)
    values = [v for _, v in history]
    # random architectures score 1.42 on average (the first batch is random); the optimum is 6
    first, last = values[:20], values[-20:]
    assert sum(last) / 20 >= sum(first) / 20 + 2.5
    assert max(values) >= 5


async def test_minimize_turns_the_search_around():
    history = await run(ppo(optimize_mode="minimize"), WIDE, 200)
    values = [v for _, v in history]
    assert sum(values[-20:]) / 20 <= sum(values[:20]) / 20 - 0.75


async def test_parameters_are_those_of_the_space_nni_style_and_plain_choice():
    space = {**SMALL, "width": {"_type": "choice", "_value": [16, 32, 64]}}
    for params, _ in await run(ppo(trials_per_update=4, minibatch_size=2), space, 12, value=len):
        assert params["op"]["_value"] == SMALL["op"]["_value"][params["op"]["_idx"]]
        assert params["skip"]["_value"] == [["stem", "op"][i] for i in params["skip"]["_idx"]]
        assert len(params["skip"]["_idx"]) == 1 and params["width"] in (16, 32, 64)


async def test_same_seed_same_architectures():
    def make(seed):
        return ppo(trials_per_update=6, minibatch_size=3, seed=seed)

    first = [key(p) for p, _ in await run(make(1), WIDE, 18)]
    assert first == [key(p) for p, _ in await run(make(1), WIDE, 18)]
    assert first != [key(p) for p, _ in await run(make(2), WIDE, 18)]


async def test_failed_trials_neither_block_nor_crash():
    history = await run(ppo(trials_per_update=5), WIDE, 30, fail=lambda pid: pid % 3 == 0)
    assert len(history) == 20


async def test_the_next_batch_waits_for_the_last_one():
    outcomes = Outcomes()
    driver = TunerDriver(ppo(trials_per_update=2, minibatch_size=1), outcomes=outcomes)
    await driver.update_search_space(WIDE)
    first = [await driver.generate_parameters(i) for i in range(2)]
    asked: list[dict] = []

    async def ask():
        asked.append(await driver.generate_parameters(2))

    async with anyio.create_task_group() as tg:
        tg.start_soon(ask)
        await anyio.wait_all_tasks_blocked()
        assert asked == []  # parameter 2 waits for the batch of 0 and 1
        await driver.receive_trial_result(0, first[0], 5.0)
        outcomes.resolve(TrialOutcome(0, True, 5.0))
        await anyio.wait_all_tasks_blocked()
        assert asked == []
        outcomes.resolve(TrialOutcome(1, False, reason="trial job ended FAILED"))
    assert len(asked) == 1


@pytest.mark.parametrize("name", ["PPOTuner", "PPO"])
async def test_other_types_are_refused_naming_the_key(name):
    driver = TunerDriver(tuners.create(name))
    with pytest.raises(SearchSpaceError, match="lr: tuner PPOTuner does not support uniform"):
        await driver.update_search_space({**SMALL, "lr": {"_type": "uniform", "_value": [0, 1]}})
    with pytest.raises(SearchSpaceError, match="opt: tuner PPOTuner does not support nested"):
        await driver.update_search_space(
            {"opt": {"_type": "choice", "_value": [{"_name": "sgd"}, {"_name": "adam"}]}}
        )


def test_bad_class_args_are_a_plugin_error():
    with pytest.raises(PluginError, match="PPOTuner"):
        tuners.create("PPOTuner", no_such_arg=1)
    with pytest.raises(PluginError, match="trials_per_update"):
        tuners.create("PPOTuner", trials_per_update=0)
    with pytest.raises(PluginError, match="optimize_mode"):
        tuners.create("PPO", optimize_mode="sideways")
