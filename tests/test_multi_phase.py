"""Multi-phase trials (issue 3), end to end: real trial processes, real sockets, the real store."""

from __future__ import annotations

import json
import runpy
from collections import defaultdict
from pathlib import Path

import pytest

from .helpers import experiment_config
from .traces import REPO, Finished, example, read_jsonl, run, user_tuner


def recording(tmp_path: Path, **class_args: object) -> dict:
    return user_tuner(
        "recording_tuner.py", "RecordingTuner", record=str(tmp_path / "tuner.jsonl"), **class_args
    )


def run_phases(
    tmp_path: Path, trial_args: str, tuner_args: dict | None = None, **keys: object
) -> Finished:
    """Run tests/assets/phases_trial.py with ``trial_args`` under the RecordingTuner; the
    experiment must end DONE."""
    finished = run(
        experiment_config(
            tmp_path,
            trial_command=f"python phases_trial.py {trial_args}",
            tuner=recording(tmp_path, **(tuner_args or {})),
            **keys,
        )
    )
    assert finished.result.status == "DONE", finished.result.message
    return finished


def calls(tmp_path: Path, kind: str) -> list[dict]:
    return [c for c in read_jsonl(tmp_path / "tuner.jsonl") if c["call"] == kind]


@pytest.fixture(scope="module")
def four_jobs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Finished]:
    """Four concurrent jobs of three phases each, 12 configurations in all."""
    tmp_path = tmp_path_factory.mktemp("four_jobs")
    finished = run_phases(
        tmp_path,
        "--phases 3",
        multi_phase=True,
        trial_concurrency=4,
        max_configuration_number=12,
    )
    return tmp_path, finished


def test_each_job_gets_increasing_ids_and_indexes(four_jobs: tuple[Path, Finished]) -> None:
    _, finished = four_jobs
    rows = finished.configured
    assert sorted(row["parameter_id"] for row in rows) == list(range(12))
    per_job: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        per_job[row["trial_job_id"]].append(row)
    assert len(per_job) >= 4
    for job_rows in per_job.values():
        ids = [row["parameter_id"] for row in job_rows]
        assert [row["parameter_index"] for row in job_rows] == list(range(len(job_rows)))
        assert ids == sorted(ids)


def test_each_result_belongs_to_its_configuration(four_jobs: tuple[Path, Finished]) -> None:
    _, finished = four_jobs
    for row in finished.configured:
        # the trial reports its configuration's x (= its parameter id) and its loop round
        assert row["final_metric"] == {
            "default": row["parameter_id"],
            "phase": row["parameter_index"],
        }
        assert row["parameters"]["asked_by"] == row["trial_job_id"]
    seen = finished.trial_records("calls.jsonl")
    assert all(r["params"] is None or r["params"]["asked_by"] == r["job"] for r in seen)


def test_multi_phase_tuner_sees_the_asking_job(four_jobs: tuple[Path, Finished]) -> None:
    tmp_path, finished = four_jobs
    owner = {row["parameter_id"]: row["trial_job_id"] for row in finished.configured}
    index = {row["parameter_id"]: row["parameter_index"] for row in finished.configured}
    generated = calls(tmp_path, "generate")
    assert {c["parameter_id"]: (c["trial_job_id"], c["parameter_index"]) for c in generated} == {
        pid: (owner[pid], index[pid]) for pid in owner
    }
    results = calls(tmp_path, "result")
    assert {c["parameter_id"]: (c["trial_job_id"], c["value"]) for c in results} == {
        pid: (job, float(pid)) for pid, job in owner.items()
    }
    ends = calls(tmp_path, "end")
    assert {c["parameter_id"]: (c["trial_job_id"], c["success"]) for c in ends} == {
        pid: (job, True) for pid, job in owner.items()
    }


def test_without_multi_phase_a_job_keeps_its_configuration(tmp_path: Path) -> None:
    finished = run_phases(tmp_path, "--phases 1 --gets 3", trial_concurrency=2, max_trial_number=3)
    seen = finished.trial_records("calls.jsonl")
    by_job: dict[str, list[dict]] = defaultdict(list)
    for record in seen:
        by_job[record["job"]].append(record["params"])
    assert len(by_job) == 3
    for job, answers in by_job.items():
        assert len(answers) == 3 and answers[0] is not None
        assert answers == [answers[0]] * 3 and answers[0]["asked_by"] == job
    assert len(calls(tmp_path, "generate")) == 3  # the repeats never reached the tuner
    assert [row["parameter_index"] for row in finished.configured] == [0, 0, 0]


def test_two_gets_then_one_report_fails_the_first(tmp_path: Path) -> None:
    finished = run_phases(
        tmp_path,
        "--phases 1 --gets 2",
        multi_phase=True,
        trial_concurrency=2,
        max_configuration_number=4,
    )
    rows = finished.configured
    assert len(rows) == 4
    first = [row for row in rows if row["parameter_index"] == 0]
    second = [row for row in rows if row["parameter_index"] == 1]
    assert len(first) == len(second) == 2
    assert all(row["final_metric"] is None for row in first)
    assert all(row["final_metric"]["default"] == row["parameter_id"] for row in second)
    log = finished.log_text
    for row in first:
        assert (
            f"trial job {row['trial_job_id']}: parameter id {row['parameter_id']} got no final result"
            in log
        )
    ended = {c["parameter_id"]: c["success"] for c in calls(tmp_path, "end")}
    assert ended == {
        **{row["parameter_id"]: False for row in first},
        **{row["parameter_id"]: True for row in second},
    }
    assert {c["parameter_id"] for c in calls(tmp_path, "result")} == {
        row["parameter_id"] for row in second
    }


def test_no_more_trials_ends_every_job(tmp_path: Path) -> None:
    finished = run_phases(
        tmp_path,
        "",  # asks until get_next_parameter() returns None
        tuner_args={"limit": 5},
        max_trial_number=None,
        multi_phase=True,
        trial_concurrency=3,
    )
    assert sorted(row["parameter_id"] for row in finished.configured) == list(range(5))
    assert {row["status"] for row in finished.rows} == {"SUCCEEDED"}
    last_answer: dict[str, object] = {}
    for record in finished.trial_records("calls.jsonl"):
        last_answer[record["job"]] = record["params"]
    assert len(last_answer) >= 3 and set(map(repr, last_answer.values())) == {"None"}


def test_max_configuration_number_counts_configurations(tmp_path: Path) -> None:
    finished = run_phases(
        tmp_path, "", multi_phase=True, trial_concurrency=2, max_configuration_number=7
    )
    rows = finished.configured
    assert sorted(row["parameter_id"] for row in rows) == list(range(7))
    assert all(row["final_metric"] is not None for row in rows)
    assert {row["status"] for row in finished.rows} == {"SUCCEEDED"}
    # at most the two concurrent jobs (plus a latecomer told "no more") ran them all
    assert len({row["trial_job_id"] for row in rows}) <= 2


def test_max_trial_number_counts_trial_jobs_in_multi_phase_mode_too(tmp_path: Path) -> None:
    # as in NNI: three jobs of two phases each, whatever the number of configurations
    finished = run_phases(
        tmp_path, "--phases 2", multi_phase=True, trial_concurrency=2, max_trial_number=3
    )
    jobs = {row["trial_job_id"] for row in finished.rows}
    assert len(jobs) == 3 and len(finished.configured) == 6
    assert {row["status"] for row in finished.rows} == {"SUCCEEDED"}


# --- the examples in trials/ and tuners/, at a small size -----------------------------


def test_multi_phase_example(tmp_path: Path) -> None:
    done = run(example("multi_phase", tmp_path))
    assert done.result.status == "DONE", done.result.message
    rows = done.configured
    assert sorted(row["parameter_id"] for row in rows) == list(range(20))
    assert all(row["final_metric"] is not None for row in rows)
    assert max(row["parameter_index"] for row in rows) == 4  # five phases per job at most


def test_worker_pool_compare_runs_both_ways(tmp_path: Path, capsys) -> None:
    compare = runpy.run_path(str(REPO / "trials" / "worker_pool" / "compare.py"))["compare"]
    compare(pool=200, single=4, workdir=tmp_path)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line.get("mode"), line.get("configs")) for line in lines[:2]] == [
        ("worker_pool", 200),
        ("process_per_config", 4),
    ]
    assert lines[2]["speedup"] > 0


@pytest.mark.slow
def test_quantization_example_plans_each_job_from_its_own_results(tmp_path: Path) -> None:
    config = example("quantization", tmp_path, max_configuration_number=8)
    done = run(config)
    assert done.result.status == "DONE", done.result.message
    tolerance = config.tuner.class_args["tolerance"]
    widths = [32, 16, 8]
    per_job: dict[str, list[dict]] = defaultdict(list)
    for row in done.configured:
        per_job[row["trial_job_id"]].append(row)
    assert sum(len(rows) for rows in per_job.values()) == 8
    for rows in per_job.values():
        # the tuner's rule, replayed on this job's results only
        level, reference = 0, None
        for row in rows:
            assert row["parameters"]["bits"] == widths[level]
            assert row["final_metric"]["bits"] == widths[level]
            accuracy = row["final_metric"]["default"]
            reference = accuracy if reference is None else reference
            level = min(level + 1, 2) if accuracy >= reference - tolerance else max(level - 1, 0)
