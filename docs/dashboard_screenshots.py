"""Takes the screenshots of docs/dashboard.md: runs three small experiments (weight-sharing
evolution, an assessor that stops bad curves, multi-phase workers) and photographs every page
with Debian's headless chromium: the lineage page while the evolution runs (`asyncnni run
--port`, its trials held back so that children wait on their parents), the others from
`python -m asyncnni.web` serving the stored experiments.

    .venv/bin/python docs/dashboard_screenshots.py      # writes docs/images/dashboard-*.png
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "tests" / "assets"
IMAGES = ROOT / "docs" / "images"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def config_file(work: Path, experiment_id: str, config: dict) -> Path:
    base = {
        "trial_code_directory": str(ASSETS),
        "training_service": {"platform": "local"},
        "experiment_working_directory": str(work),
        "trial_concurrency": 4,
    }
    path = work / f"{experiment_id}.yaml"
    path.write_text(json.dumps(base | config))
    return path


def run(work: Path, experiment_id: str, config: dict) -> Path:
    path = config_file(work, experiment_id, config)
    subprocess.run(
        [sys.executable, "-m", "asyncnni", "run", str(path), "--id", experiment_id, "-q"],
        check=True,
    )
    return work / experiment_id


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def address(folder: Path, pid: int | None = None) -> str:
    """The URL the dashboard of ``folder`` (served by ``pid``, when given) wrote."""
    while True:
        try:
            served = json.loads((folder / "dashboard.json").read_text())
            if pid in (None, served["pid"]):
                return served["url"]
        except FileNotFoundError:
            pass
        time.sleep(0.1)


def live_lineage(work: Path, config: dict, page) -> Path:  # noqa: ANN001
    """Run the evolution with its dashboard; a trial reports only once released, and the
    next one is released only while nobody waits yet, so children come to wait on their
    parents; photograph the lineage page then, and let the experiment finish."""
    path = config_file(work, "evolution", config)
    go = work / "go"
    go.mkdir()
    run = subprocess.Popen(
        [sys.executable, "-m", "asyncnni", "run", str(path), "--id", "evolution", "-q"]
        + ["--port", "0"],
        env=os.environ | {"WEB_GO_DIR": str(go)},
    )
    try:
        url = address(work / "evolution")
        released = 0
        while True:
            if run.poll() is not None:
                raise SystemExit("the evolution ended before a child waited on its parent")
            lineage = get(f"{url}/api/lineage")
            if lineage["waiting"] and len(lineage["nodes"]) >= 12:
                break
            (go / f"go-{released}").write_text("")
            released += 1
            time.sleep(0.5)
        page.goto(f"{url}/#/lineage")
        page.wait_for_selector("#waiting tr[data-trial-job-id]")
        page.wait_for_timeout(800)  # charts draw on the next frames
        page.screenshot(path=str(IMAGES / "dashboard-lineage.png"))
        for sequence in range(config["max_trial_number"]):
            (go / f"go-{sequence}").write_text("")
        if run.wait() != 0:
            raise SystemExit("the evolution experiment failed")
    finally:
        if run.poll() is None:
            run.terminate()
            run.wait()
    return work / "evolution"


def serve(folder: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "asyncnni.web", str(folder), "127.0.0.1", "0"]
    )
    return process, address(folder, process.pid)


def main() -> None:
    work = Path(tempfile.mkdtemp())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        evolution = live_lineage(
            work,
            {
                "experiment_name": "weight_sharing",
                "search_space": {
                    "layers": {"_type": "choice", "_value": [1, 2, 3]},
                    "width": {"_type": "choice", "_value": [16, 32, 64]},
                    "x": {"_type": "choice", "_value": [0.1, 0.2, 0.4, 0.8]},
                },
                "trial_command": "python score_trial.py",
                "max_trial_number": 40,
                "async_dispatcher": True,
                "shared_storage": {"local_mount_point": str(work / "checkpoints")},
                "tuner": {
                    "code_directory": str(ROOT / "tuners" / "weight_sharing"),
                    "class_file_name": "evolution_tuner.py",
                    "class_name": "WeightSharingEvolution",
                    "class_args": {"population_size": 6, "sample_size": 2, "seed": 0},
                },
            },
            page,
        )
        curves = run(
            work,
            "curves",
            {
                "experiment_name": "median_stop",
                "search_space": {"x": {"_type": "uniform", "_value": [0, 1]}},
                "trial_command": "python slow_curve_trial.py",
                "max_trial_number": 12,
                "tuner": {"name": "Random", "class_args": {"seed": 3}},
                "assessor": {
                    "code_directory": str(ASSETS),
                    "class_file_name": "threshold_assessor.py",
                    "class_name": "ThresholdAssessor",
                    "class_args": {"threshold": 0.35, "start_step": 5},
                },
            },
        )
        phases = run(
            work,
            "phases",
            {
                "experiment_name": "worker_pool",
                "search_space": {"x": {"_type": "uniform", "_value": [0, 1]}},
                "trial_command": "python phases_trial.py --phases 4",
                "max_trial_number": 3,
                "multi_phase": True,
                "tuner": {"name": "Random", "class_args": {"seed": 1}},
            },
        )
        servers = {folder: serve(folder) for folder in (evolution, curves, phases)}
        best = get(f"{servers[evolution][1]}/api/trials?sort=metric&order=desc&size=1")
        shots = [
            (evolution, "", "overview"),
            (evolution, "#/trials", "trials"),
            (evolution, "#/hyperparameters", "hyperparameters"),
            (curves, "#/intermediate", "intermediate"),
            (phases, "#/streams", "streams"),
            (evolution, f"#/trial/{best['rows'][0]['trial_job_id']}", "trial"),
        ]
        for folder, route, name in shots:
            page.goto(f"{servers[folder][1]}/{route}")
            page.wait_for_selector("main h2")
            page.wait_for_timeout(800)  # charts draw on the next frames, the log streams in
            page.screenshot(path=str(IMAGES / f"dashboard-{name}.png"), full_page=name == "trial")
        browser.close()
        for process, _ in servers.values():
            process.terminate()


if __name__ == "__main__":
    main()
