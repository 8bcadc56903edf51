"""Asynchronous dispatcher mode and weight sharing (issue 4), end to end: real trial
processes, real checkpoint files in a shared folder, the real store."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncnni import Experiment
from asyncnni.config import SharedStorageConfig
from asyncnni.dispatcher import Change

from .helpers import experiment_config, process_is_gone
from .traces import Finished, example, finished, read_jsonl, run, user_tuner


def lineage(tmp_path: Path, limit: int, concurrency: int, **class_args: object) -> dict:
    """Checkpoint trials whose parents the LineageTuner picks, in asynchronous mode."""
    return experiment_config(
        tmp_path,
        trial_command="python checkpoint_trial.py",
        tuner=user_tuner(
            "lineage_tuner.py",
            "LineageTuner",
            record=str(tmp_path / "tuner.jsonl"),
            limit=limit,
            **class_args,
        ),
        trial_concurrency=concurrency,
        max_trial_number=limit,
        async_dispatcher=True,
        shared_storage={"local_mount_point": str(tmp_path / "shared")},
    )


def decisions(tmp_path: Path) -> dict[int, dict]:
    return {d["parameter_id"]: d for d in read_jsonl(tmp_path / "tuner.jsonl")}


def restores(run: Finished) -> dict[int, dict]:
    """What each trial found where it was told to restore from, by parameter id (x)."""
    return {r["x"]: r for r in run.trial_records("restore.json")}


def test_children_only_ever_read_complete_parent_checkpoints(tmp_path: Path) -> None:
    # 40 configurations in a binary tree (5 generations below the root), four jobs at once:
    # most children are asked for while their parent still trains, and wait for it
    done = run(lineage(tmp_path, limit=40, concurrency=4))
    assert done.result.status == "DONE", done.result.message
    found = restores(done)
    assert sorted(found) == list(range(40))
    assert found[0]["restore_dir"] is None
    children = [found[x] for x in range(1, 40)]
    assert [r["found"] for r in children] == ["ok"] * 39
    assert all(
        r["restore_dir"] == str(tmp_path / "shared" / f"p{(x - 1) // 2}")
        for x, r in zip(range(1, 40), children, strict=True)
    )
    assert all(row["final_metric"] == row["parameters"]["x"] for row in done.configured)


@pytest.mark.parametrize("policy", ["scratch", "reparent"])
def test_a_crashed_parent_wakes_its_children_with_a_failure(tmp_path: Path, policy: str) -> None:
    # 1 crashes before saving; its children 3 and 4 must wake, told why, and start as the
    # tuner chose: from scratch, or from another configuration that succeeded
    done = run(lineage(tmp_path, limit=7, concurrency=2, crash=[1], on_parent_failure=policy))
    assert done.result.status == "DONE", done.result.message
    status = {row["parameters"]["x"]: row["status"] for row in done.configured}
    assert status[1] == "FAILED"
    chosen = decisions(tmp_path)
    found = restores(done)
    for child in (3, 4):
        decision = chosen[child]
        assert decision["parent"] == 1 and decision["succeeded"] is False
        assert "FAILED" in decision["reason"] and "exit code 3" in decision["reason"]
        if policy == "scratch":
            assert decision["restore_from"] is None
            assert found[child]["restore_dir"] is None
        else:
            assert decision["restore_from"] not in (None, 1)
            assert status[decision["restore_from"]] == "SUCCEEDED"
            assert found[child]["restore_dir"] == str(
                tmp_path / "shared" / f"p{decision['restore_from']}"
            )
            assert found[child]["found"] == "ok"
    assert all(r["found"] in (None, "ok") for r in found.values())


@pytest.mark.timeout(60)  # a tuner blocking the event loop would hang the experiment
def test_an_nni_style_threaded_tuner_runs_unchanged(tmp_path: Path) -> None:
    record = tmp_path / "tuner.jsonl"
    done = run(
        experiment_config(
            tmp_path,
            tuner=user_tuner("threaded_tuner.py", "ThreadedTuner", record=str(record)),
            trial_concurrency=4,
            max_trial_number=12,
            async_dispatcher=True,
        )
    )
    assert done.result.status == "DONE", done.result.message
    assert {row["status"] for row in done.rows} == {"SUCCEEDED"}
    generated = {c["parameter_id"]: c for c in read_jsonl(record) if c["call"] == "generate"}
    assert sorted(generated) == list(range(12))
    # each child was generated after its parent's result reached the tuner, and carries it
    for child in range(4, 12):
        assert generated[child]["parent_value"] == float(child - 4)


def test_serial_mode_hands_the_tuner_one_call_at_a_time(tmp_path: Path) -> None:
    record = tmp_path / "tuner.jsonl"
    done = run(
        experiment_config(
            tmp_path,
            trial_command="python phases_trial.py --phases 2",
            tuner=user_tuner(
                "recording_tuner.py", "RecordingTuner", record=str(record), think=0.01
            ),
            multi_phase=True,
            trial_concurrency=4,
            max_configuration_number=16,
        )
    )
    assert done.result.status == "DONE", done.result.message
    tuner_calls = read_jsonl(record)
    assert len(tuner_calls) == 3 * 16
    assert {c["busy"] for c in tuner_calls} == {1}  # never two calls at once
    generated = [c["parameter_id"] for c in tuner_calls if c["call"] == "generate"]
    assert generated == list(range(16))  # ids are handed out in the order the tuner is asked
    position = {(c["call"], c["parameter_id"]): i for i, c in enumerate(tuner_calls)}
    for pid in range(16):
        assert position[("generate", pid)] < position[("result", pid)] < position[("end", pid)]


def test_the_deadline_answers_a_waiting_child_no_more_trials(tmp_path: Path) -> None:
    # 0 never finishes; 1 waits on it. At max_experiment_duration the waiting request is
    # cancelled and answered NO_MORE_TRIALS, and the hanging parent is terminated.
    experiment = Experiment(lineage(tmp_path, limit=3, concurrency=2, hang=[0]))

    def expire_once_a_child_waits(change: Change) -> None:
        # the deadline passes exactly when the child waits, not after a guessed delay
        if change.kind == "waiting" and change.data["parent"] is not None:
            experiment.set_max_experiment_duration(1e-9)

    experiment.observer.subscribe(expire_once_a_child_waits)
    done = finished(experiment, experiment.run())
    assert done.result.message == "max_experiment_duration reached"
    assert list(decisions(tmp_path)) == [0]  # the waiting child was never handed one
    assert [row["parameter_id"] for row in done.configured] == [0]
    parent = next(row for row in done.rows if row["parameter_id"] == 0)
    assert (
        parent["status"] == "USER_CANCELED"
        and parent["message"] == "max_experiment_duration reached"
    )
    assert done.result.status == "DONE"


def test_stop_cancels_a_child_waiting_on_a_parent_and_leaves_no_process(tmp_path: Path) -> None:
    experiment = Experiment(lineage(tmp_path, limit=3, concurrency=2, hang=[0]))
    waited_on: list[dict] = []

    def stop_once_a_child_waits(change: Change) -> None:
        # told by the observer the moment the child waits (no trial has ended yet)
        if change.kind == "waiting" and change.data["parent"] is not None:
            waited_on.append(dict(experiment.progress.waiting_on))
            experiment.stop("test stops it")

    experiment.observer.subscribe(stop_once_a_child_waits)
    done = finished(experiment, experiment.run())
    assert list(waited_on[0].values()) == [0]  # waiting on parent 0
    assert done.result.status == "STOPPED" and done.result.message == "test stops it"
    assert list(decisions(tmp_path)) == [0]
    assert {row["status"] for row in done.rows} == {"USER_CANCELED"}
    # the hanging parent and the waiting child each wrote theirs before asking
    pids = [int(p.read_text()) for p in (done.result.folder / "trials").glob("*/pid")]
    assert len(pids) == 2 and all(process_is_gone(pid) for pid in pids)


@pytest.mark.slow
def test_weight_sharing_example_children_inherit_from_their_parents(tmp_path: Path) -> None:
    config = example(
        "weight_sharing",
        tmp_path,
        max_trial_number=6,
        shared_storage=SharedStorageConfig(local_mount_point=tmp_path / "shared"),
    )
    config.tuner.class_args.update(population_size=3)
    done = run(config)
    assert done.result.status == "DONE", done.result.message
    assert {row["status"] for row in done.rows} == {"SUCCEEDED"}
    by_id = {row["parameter_id"]: row for row in done.configured}
    children = [row for row in by_id.values() if row["parameters"]["parent_id"] is not None]
    assert children  # past the first population_size, every configuration has a parent
    for row in by_id.values():
        params, metric = row["parameters"], row["final_metric"]
        assert Path(params["save_dir"], "model.pt").is_file()
        assert Path(params["save_dir"]).is_relative_to(tmp_path / "shared")
        if params["parent_id"] is None:
            assert params["restore_dir"] is None and metric["inherited"] == 0
        else:  # every network shares at least the output layer's bias with its parent
            assert params["restore_dir"] == by_id[params["parent_id"]]["parameters"]["save_dir"]
            assert metric["inherited"] > 0


@pytest.mark.parametrize("async_dispatcher", [False, True])
def test_a_tuner_with_the_hook_hears_each_intermediate_result_in_order(
    tmp_path: Path, async_dispatcher: bool
) -> None:
    """echo_trial reports x * 0, x * 1, x * 2, then x: a tuner that defines
    receive_intermediate_result hears them in that order, before the final result."""
    record = tmp_path / "tuner.jsonl"
    done = run(
        experiment_config(
            tmp_path,
            tuner=user_tuner("intermediate_tuner.py", "IntermediateTuner", record=str(record)),
            trial_concurrency=3,
            max_trial_number=6,
            async_dispatcher=async_dispatcher,
        )
    )
    assert done.result.status == "DONE", done.result.message
    calls: dict[int, list[tuple]] = {}
    for c in read_jsonl(record):
        step = (c["call"], c.get("sequence"), c.get("value", c.get("success")))
        calls.setdefault(c["parameter_id"], []).append(step)
    assert sorted(calls) == list(range(6))
    for pid, seen in calls.items():
        x = float(pid + 1)
        assert seen == [
            ("intermediate", 0, 0.0),
            ("intermediate", 1, x),
            ("intermediate", 2, 2 * x),
            ("result", None, x),
            ("end", None, True),
        ]


def test_only_tuners_that_define_the_hook_are_sent_intermediate_results() -> None:
    from asyncnni import tuners
    from asyncnni.tuner import TunerDriver

    hears = {
        name: TunerDriver(tuners.create(name)).hears_intermediate
        for name in ("Random", "TPE", "Anneal", "Evolution", "Hyperband", "BOHB", "ASHA")
    }
    assert hears == {**dict.fromkeys(hears, False), "Hyperband": True, "BOHB": True, "ASHA": True}
