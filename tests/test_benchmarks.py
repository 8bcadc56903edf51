"""Each benchmark runs at a tiny size and prints JSON with every field.

Timing is never asserted: these runs share the machine with everything else. Each runs in a
subprocess with TMPDIR set to the test's own folder and a marker in its environment, so the
tests can check that no temporary folder, socket file or client process outlives it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # real processes and sockets: seconds each

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"
ASYNCNNI = Path(sys.executable).parent / "asyncnni"
STAMP = {"benchmark", "machine", "date"}
DISPATCHER_FIELDS = STAMP | {
    "scenario",
    "unit",
    "pattern",
    "workers",
    "transport",
    "messages",
    "seconds",
    "messages_per_s",
    "p50_us",
    "p90_us",
    "p99_us",
}
REPEATED = {"runs", "messages_per_s_min", "messages_per_s_max"}
SCENARIO_FIELDS = (
    DISPATCHER_FIELDS
    | REPEATED
    | {
        "baseline_rss_mb",
        "dispatcher_peak_rss_mb",
        "peak_rss_reset",
        "fraction_of_raw",
    }
)
IDLE_FIELDS = (SCENARIO_FIELDS - {"fraction_of_raw"} - REPEATED) | {
    "idle_workers",
    "messages_per_s_without_idle",
    "p50_us_without_idle",
    "p90_us_without_idle",
    "p99_us_without_idle",
    "dispatcher_rss_mb_before_idle",
    "dispatcher_rss_mb_idle_connected",
    "dispatcher_rss_mb",
}


def _processes_marked(marker: str) -> list[int]:
    """Pids of live processes whose environment carries ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def run_benchmark(tmp_path: Path, *command: str) -> tuple[list[dict], str]:
    """Run a benchmark command; return its JSON lines and stderr, after checking that it
    left no process and nothing in its temporary folder behind."""
    marker = f"ASYNCNNI_BENCH_TEST={uuid.uuid4().hex}"
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp), marker.split("=")[0]: marker.split("=")[1]}
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=150, check=False
    )
    assert done.returncode == 0, done.stderr
    assert _processes_marked(marker) == []
    assert list(tmp.iterdir()) == []
    records = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return records, done.stderr


def run_script(tmp_path: Path, script: str, *args: str) -> tuple[list[dict], str]:
    return run_benchmark(tmp_path, sys.executable, str(BENCHMARKS / script), *args)


def test_e2e_trials(tmp_path: Path) -> None:
    records, _ = run_script(tmp_path, "e2e_trials.py", "--trials", "3", "--concurrency", "2")
    [record] = records
    assert set(record) == STAMP | {
        "trials",
        "concurrency",
        "launcher",
        "succeeded",
        "wall_s",
        "trials_per_s",
    }
    assert (record["benchmark"], record["trials"], record["succeeded"]) == ("e2e_trials", 3, 3)
    (tmp_path / "fork").mkdir()
    records, _ = run_script(
        tmp_path / "fork", "e2e_trials.py", "--trials", "2", "--concurrency", "2", "--fork", "1"
    )
    assert (records[0]["launcher"], records[0]["succeeded"]) == ("fork", 2)


def test_quickstart(tmp_path: Path) -> None:
    records, _ = run_script(tmp_path, "quickstart.py", "--trials", "1", "--pairs", "1")
    [record] = records
    assert set(record) == STAMP | {
        "trials",
        "pairs",
        "plain_s",
        "fork_s",
        "speedup",
        "plain_cpu_s",
        "fork_cpu_s",
        "cpu_ratio",
        "same_results",
        "plain_s_runs",
        "fork_s_runs",
    }
    assert record["same_results"] is True


def test_multi_phase_throughput(tmp_path: Path) -> None:
    records, _ = run_script(
        tmp_path, "multi_phase_throughput.py", "--workers", "2", "--configs", "40", "--raw", "1"
    )
    assert [record["api"] for record in records] == ["separate", "combined"]
    for record in records:
        assert set(record) == STAMP | {
            "api",
            "workers",
            "configs",
            "trial_jobs",
            "configs_per_s",
            "configs_per_s_runs",
            "get_p50_us",
            "get_p99_us",
            "raw_round_trips_per_s",
            "round_trips_per_config",
            "fraction_of_raw_round_trips",
        }
        assert (record["benchmark"], record["configs"], record["trial_jobs"]) == (
            "multi_phase_throughput",
            40,
            2,
        )


def test_report_throughput(tmp_path: Path) -> None:
    records, _ = run_script(
        tmp_path, "report_throughput.py", "--trials", "2", "--reports", "300", "--pairs", "1"
    )
    [record] = records
    assert set(record) == STAMP | {
        "trials",
        "reports_per_trial",
        "pairs",
        "reports_per_s",
        "raw_oneway_per_s",
        "fraction_of_raw",
        "reports_per_s_runs",
        "raw_oneway_per_s_runs",
    }
    assert (record["trials"], record["reports_per_trial"]) == (2, 300)


def test_fixed_cost(tmp_path: Path) -> None:
    records, _ = run_script(tmp_path, "fixed_cost.py", "--pairs", "1")
    [record] = records
    assert set(record) == STAMP | {
        "pairs",
        "run_s",
        "bare_interpreter_s",
        "run_minus_bare_s",
        "run_imports_s",
        "trial_imports_s",
        "run_rest_s",
        "run_s_runs",
        "bare_interpreter_s_runs",
        "run_cpu_s",
    }


def test_vs_nni_skips_without_nni(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASYNCNNI_NNI_PYTHON", raising=False)
    [record], _ = run_script(tmp_path, "vs_nni.py")
    assert set(record) == STAMP | {"skipped"}
    assert "ASYNCNNI_NNI_PYTHON" in record["skipped"]
    (tmp_path / "other").mkdir()  # an interpreter without NNI 3.0 is named as such
    [record], _ = run_script(tmp_path / "other", "vs_nni.py", "--nni-python", sys.executable)
    assert f"{sys.executable!r} has no nni==3.0" in record["skipped"]


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_dispatcher_throughput(tmp_path: Path, transport: str) -> None:
    records, table = run_script(
        tmp_path,
        "dispatcher_throughput.py",
        "--workers",
        "1,2",
        "--messages",
        "40",
        "--transport",
        transport,
        "--raw",
        "--idle",
        "3",
        "--repeat",
        "2",
    )
    by_kind: dict[str, list[dict]] = {}
    for record in records:
        by_kind.setdefault(record["scenario"], []).append(record)
        assert record["transport"] == transport
    assert sorted(by_kind) == ["a", "b", "c", "d", "idle", "raw"]
    # raw: patterns reports, asks, configs and oneway, each at 1 and 2 workers
    assert len(by_kind["raw"]) == 8
    for record in by_kind["raw"]:
        assert set(record) == DISPATCHER_FIELDS | REPEATED
    for name in "abcd":
        assert [r["workers"] for r in by_kind[name]] == [1, 2]
        for record in by_kind[name]:
            assert set(record) == SCENARIO_FIELDS
            assert (record["messages"], record["runs"]) == (40, 2)
    [idle] = by_kind["idle"]
    assert set(idle) == IDLE_FIELDS
    assert idle["idle_workers"] == 3
    assert "msgs/s" in table and "idle check: 3 idle workers" in table


def test_asyncnni_bench_command(tmp_path: Path) -> None:
    records, _ = run_benchmark(
        tmp_path, str(ASYNCNNI), "bench", "--workers", "1", "--messages", "20", "--scenarios", "b"
    )
    [record] = records
    assert set(record) == SCENARIO_FIELDS - {"fraction_of_raw"}
    assert (record["scenario"], record["workers"]) == ("b", 1)


def test_bench_plot(tmp_path: Path) -> None:
    """With matplotlib the plot is written; without it the user is told how to get it."""
    out = tmp_path / "bench.png"
    command = [sys.executable, str(BENCHMARKS / "dispatcher_throughput.py")]
    command += ["--workers", "1", "--messages", "20", "--scenarios", "b", "--plot", str(out)]
    if importlib.util.find_spec("matplotlib") is not None:
        run_benchmark(tmp_path, *command)
        assert out.stat().st_size > 0
        return
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=150)
    assert done.returncode == 2
    assert "pip install 'asyncnni[plot]'" in done.stderr


def test_bench_refuses_bad_options() -> None:
    done = subprocess.run(
        [str(ASYNCNNI), "bench", "--scenarios", "a,z"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "unknown scenario(s) z" in done.stderr


def test_multi_fidelity(tmp_path: Path) -> None:
    figure = tmp_path / "mf.png"
    records, table = run_script(
        tmp_path,
        "multi_fidelity.py",
        *("--seeds", "2", "--hours", "3", "--functions", "mf_hartmann6"),
        *("--methods", "Random,ASHA-resume", "--no-peers", "--plot", str(figure)),
    )
    assert [(r["method"], r["implementation"]) for r in records] == [
        ("Random", "asyncnni"),
        ("ASHA-resume", "asyncnni"),
    ]
    for record in records:
        assert set(record) >= STAMP and record["seeds"] == 2 and record["workers"] == 4
        assert len(record["regret"]["median"]) == len(record["times_s"]) == 24
        assert record["final_q25"] <= record["final_median"] <= record["final_q75"]
        assert 0 < record["utilisation"] <= 1
    assert "ASHA-resume" in table
    drawn = figure.read_bytes()
    assert drawn.startswith(b"\x89PNG") and len(drawn) < 200_000
    # the same figure again from the JSON lines, without a run
    lines = tmp_path / "mf.jsonl"
    lines.write_text("".join(json.dumps(r) + "\n" for r in records))
    again = tmp_path / "again.png"
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "multi_fidelity.py"), "--plot-from", str(lines)]
        + ["--plot", str(again)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert again.read_bytes().startswith(b"\x89PNG")


def test_simulator_throughput(tmp_path: Path) -> None:
    records, _ = run_script(tmp_path, "multi_fidelity.py", "--throughput", "40")
    assert [(r["mode"], r["trials"], r["status"]) for r in records] == [
        ("one_job_per_trial", 40, "DONE"),
        ("multi_phase_workers", 40, "DONE"),
    ]
    # 40 trials of 81 simulated minutes, four at a time: ten rounds
    assert all(r["simulated_hours"] == 13.5 for r in records)
