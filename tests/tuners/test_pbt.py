"""PBT driven directly: checkpoints folders, exploit/explore, waiting on running steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncnni import tuners
from asyncnni.errors import PluginError
from asyncnni.tuner import TrialOutcome

from .drive import info

pytestmark = pytest.mark.anyio

SPACE = {
    "lr": {"_type": "loguniform", "_value": [1e-3, 1.0]},
    "bs": {"_type": "choice", "_value": [16, 32, 64, 128]},
}


async def make(tmp_path: Path, **args):
    tuner = tuners.create(
        "PBT",
        optimize_mode="maximize",
        seed=0,
        population_size=4,
        save_dir_root=str(tmp_path),
        **args,
    )
    await tuner.update_search_space(SPACE)
    return tuner


async def test_first_generation_starts_fresh_in_its_own_folders(tmp_path: Path) -> None:
    tuner = await make(tmp_path)
    params = [await tuner.generate_parameters(pid, **info(pid)) for pid in range(4)]
    for pid, p in enumerate(params):
        assert p["save_checkpoint_dir"] == p["load_checkpoint_dir"] == str(tmp_path / str(pid))
        assert Path(p["save_checkpoint_dir"]).is_dir()
        assert 1e-3 <= p["lr"] <= 1.0 and p["bs"] in (16, 32, 64, 128)


async def test_weak_members_copy_strong_ones_and_the_rest_continue(tmp_path: Path) -> None:
    tuner = await make(tmp_path, resample_probability=0.0)
    first = [await tuner.generate_parameters(pid, **info(pid)) for pid in range(4)]
    for pid, p in enumerate(first):  # member 3 is the best, member 0 the worst
        await tuner.receive_trial_result(pid, p, float(pid), **info(pid))
        await tuner.trial_end(pid, True, **info(pid))
    second = {pid: await tuner.generate_parameters(pid, **info(pid)) for pid in range(4, 8)}
    # steps are handed out in the order members finished: 0, 1, 2, 3
    worst, best = second[4], second[7]
    assert worst["load_checkpoint_dir"] == str(tmp_path / "3")  # exploit: the best one's weights
    assert worst["lr"] == pytest.approx(first[3]["lr"] * 1.2) or worst["lr"] == pytest.approx(
        first[3]["lr"] * 0.8
    )
    assert best["load_checkpoint_dir"] == str(tmp_path / "3")  # continues its own
    assert {k: best[k] for k in SPACE} == {k: first[3][k] for k in SPACE}
    assert second[5]["load_checkpoint_dir"] == str(tmp_path / "1")
    assert all(p["save_checkpoint_dir"] == str(tmp_path / str(pid)) for pid, p in second.items())


async def test_waits_for_the_oldest_running_step_and_survives_its_failure(tmp_path: Path) -> None:
    tuner = await make(tmp_path)
    first = [await tuner.generate_parameters(pid, **info(pid)) for pid in range(4)]
    asked: list[int] = []

    async def outcomes(pid: int) -> TrialOutcome:  # what the dispatcher does: the parent died
        asked.append(pid)
        await tuner.trial_end(pid, False, **info(pid))
        return TrialOutcome(pid, succeeded=False, reason="trial job ended FAILED")

    tuner._outcomes = outcomes
    nxt = await tuner.generate_parameters(4, **info(4))
    assert asked == [0]  # every member was running: it waited for the oldest, no hang
    # member 0 never saved a checkpoint and nobody has one to copy: it starts over
    assert nxt["load_checkpoint_dir"] == nxt["save_checkpoint_dir"] == str(tmp_path / "4")
    assert {k: nxt[k] for k in SPACE} != {k: first[0][k] for k in SPACE}


async def test_needs_a_checkpoint_folder(tmp_path: Path) -> None:
    tuner = tuners.create("PBT", population_size=2)
    await tuner.update_search_space(SPACE)
    with pytest.raises(PluginError, match="shared_storage or give save_dir_root"):
        await tuner.generate_parameters(0, **info(0))
    tuner.shared_dir = tmp_path  # the dispatcher's shared storage is the default root
    assert (await tuner.generate_parameters(1, **info(1)))["save_checkpoint_dir"] == str(
        tmp_path / "pbt" / "1"
    )


async def test_import_data_seeds_the_first_members_best_first(tmp_path: Path) -> None:
    tuner = await make(tmp_path)
    await tuner.import_data(
        [
            {"parameter": {"lr": 0.01, "bs": 16}, "value": 0.5},
            {"parameter": {"lr": 0.1, "bs": 64}, "value": {"default": 0.9}},
        ]
    )
    firsts = [await tuner.generate_parameters(pid, **info(pid)) for pid in range(2)]
    assert [(p["lr"], p["bs"]) for p in firsts] == [(0.1, 64), (0.01, 16)]
