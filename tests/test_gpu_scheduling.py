"""GPU assignment through CUDA_VISIBLE_DEVICES: each GPU holds at most max_trial_number_per_gpu
trials at a time. No GPU is needed: the trials only record what they were given."""

from __future__ import annotations

import itertools
import json

import anyio
import pytest

from asyncnni import Experiment
from asyncnni.errors import ConfigError
from asyncnni.training.local import GpuPool

from .helpers import experiment_config


def records(experiment) -> list[dict]:
    return [json.loads(path.read_text()) for path in experiment.folder.glob("trials/*/gpus.json")]


def overlap(a: dict, b: dict) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]


@pytest.mark.parametrize("per_gpu", [1, 2])
def test_no_gpu_holds_more_trials_than_allowed(tmp_path, per_gpu):
    config = experiment_config(
        tmp_path,
        trial_command="python gpu_trial.py",
        trial_concurrency=4,
        max_trial_number=8,
        trial_gpu_number=1,
        training_service={
            "platform": "local",
            "gpu_indices": [0, 1],
            "max_trial_number_per_gpu": per_gpu,
        },
    )
    experiment = Experiment(config)
    assert experiment.run().status == "DONE"
    seen = records(experiment)
    assert len(seen) == 8 and {r["gpus"] for r in seen} == {"0", "1"}
    for gpu in ("0", "1"):
        on_gpu = [r for r in seen if r["gpus"] == gpu]
        for group in itertools.combinations(on_gpu, per_gpu + 1):
            assert not all(overlap(a, b) for a, b in itertools.combinations(group, 2)), (
                f"GPU {gpu} over its limit"
            )


def test_trials_without_gpus_are_not_given_any(tmp_path):
    experiment = Experiment(
        experiment_config(tmp_path, trial_command="python gpu_trial.py", max_trial_number=2)
    )
    experiment.run()
    assert [r["gpus"] for r in records(experiment)] == [None, None]


def test_more_gpus_per_trial_than_there_are_is_a_config_error(tmp_path):
    config = experiment_config(
        tmp_path, trial_gpu_number=3, training_service={"platform": "local", "gpu_indices": [0, 1]}
    )
    experiment = Experiment(config)
    with pytest.raises(ConfigError, match="trial_gpu_number 3"):
        experiment.run()
    assert not experiment.folder.exists(), "refused before anything is created"


@pytest.mark.anyio
async def test_gpu_pool_hands_out_the_least_loaded_first_and_waits_when_full():
    pool = GpuPool([0, 1, 2], per_gpu=1, per_trial=2)
    first = await pool.acquire()
    assert sorted(first) in ([0, 1], [0, 2], [1, 2])
    got = []

    async def second() -> None:
        got.append(await pool.acquire())

    async with anyio.create_task_group() as tg:
        tg.start_soon(second)
        await anyio.wait_all_tasks_blocked()
        assert got == []  # one GPU free, two needed: it waits
        await pool.release(first)
    assert len(got[0]) == 2
