"""Takes the screenshots of docs/dashboard.md: runs three small experiments (weight-sharing
evolution, an assessor that stops bad curves, multi-phase workers), serves each with
`python -m asyncnni.web`, and photographs every page with Debian's headless chromium.

    .venv/bin/python docs/dashboard_screenshots.py      # writes docs/images/dashboard-*.png
"""

import json
import subprocess
import sys
import tempfile
import time
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


def run(work: Path, experiment_id: str, config: dict) -> Path:
    base = {
        "trial_code_directory": str(ASSETS),
        "training_service": {"platform": "local"},
        "experiment_working_directory": str(work),
        "trial_concurrency": 4,
    }
    path = work / f"{experiment_id}.yaml"
    path.write_text(json.dumps(base | config))
    subprocess.run(
        [sys.executable, "-m", "asyncnni", "run", str(path), "--id", experiment_id, "-q"],
        check=True,
    )
    return work / experiment_id


def serve(folder: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "asyncnni.web", str(folder), "127.0.0.1", "0"]
    )
    address = folder / "dashboard.json"
    while not address.exists():
        time.sleep(0.1)
    return process, json.loads(address.read_text())["url"]


def main() -> None:
    work = Path(tempfile.mkdtemp())
    evolution = run(
        work,
        "evolution",
        {
            "experiment_name": "weight_sharing",
            "search_space": {
                "layers": {"_type": "choice", "_value": [1, 2, 3]},
                "width": {"_type": "choice", "_value": [16, 32, 64]},
                "x": {"_type": "choice", "_value": [0.1, 0.2, 0.4, 0.8]},
            },
            "trial_command": "python score_trial.py",
            "max_trial_number": 30,
            "async_dispatcher": True,
            "shared_storage": {"local_mount_point": str(work / "checkpoints")},
            "tuner": {
                "code_directory": str(ROOT / "tuners" / "weight_sharing"),
                "class_file_name": "evolution_tuner.py",
                "class_name": "WeightSharingEvolution",
                "class_args": {"population_size": 6, "sample_size": 3, "seed": 0},
            },
        },
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
    shots = [
        (evolution, "", "overview"),
        (evolution, "#/trials", "trials"),
        (evolution, "#/hyperparameters", "hyperparameters"),
        (curves, "#/intermediate", "intermediate"),
        (evolution, "#/lineage", "lineage"),
        (phases, "#/streams", "streams"),
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        servers = {}
        for folder, route, name in shots:
            if folder not in servers:
                servers[folder] = serve(folder)
            page.goto(f"{servers[folder][1]}/{route}")
            page.wait_for_selector("main h2")
            page.wait_for_timeout(500)  # charts draw on the next frames
            page.screenshot(path=str(IMAGES / f"dashboard-{name}.png"))
        job = page.evaluate(
            "fetch('/api/trials?sort=metric&order=desc&size=1').then(r => r.json())"
        )
        page.goto(f"{servers[evolution][1]}/#/trial/{job['rows'][0]['trial_job_id']}")
        page.wait_for_selector("#trial-log")
        page.wait_for_timeout(800)
        page.screenshot(path=str(IMAGES / "dashboard-trial.png"), full_page=True)
        browser.close()
        for process, _ in servers.values():
            process.terminate()


if __name__ == "__main__":
    main()
