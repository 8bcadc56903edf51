"""Dashboards of real experiments, served by real processes, and a headless chromium."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; `make test` installs it as root
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytest.importorskip("starlette", reason="the dashboard needs the web extra")


def wait_for(condition, what: str, timeout: float = 30.0):  # noqa: ANN001
    """Poll ``condition`` until it returns something truthy (a condition, not a sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def dashboard_url(folder: Path, process: subprocess.Popen | None = None) -> str:
    def url() -> str | None:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the dashboard process exited with {process.returncode}")
        try:
            return json.loads((folder / "dashboard.json").read_text())["url"]
        except (FileNotFoundError, ValueError, KeyError):
            return None

    return wait_for(url, f"the dashboard of {folder}")


@pytest.fixture
def serve():
    """``serve(folder) -> url``: `asyncnni view`'s server on a free port, stopped afterwards."""
    processes: list[subprocess.Popen] = []

    def start(folder: Path) -> str:
        process = subprocess.Popen(
            [sys.executable, "-m", "asyncnni.web", str(folder), "127.0.0.1", "0"]
        )
        processes.append(process)
        return dashboard_url(folder, process)

    yield start
    for process in processes:
        process.terminate()
        process.wait(10)


# package scope: playwright's sync API runs an event loop in this thread while it is open,
# and a test after these that runs its own (anyio.run) would find it still running
@pytest.fixture(scope="package")
def browser() -> Iterator:
    if not CHROMIUM.is_file():
        pytest.skip(f"no {CHROMIUM}: `make test` installs Debian's chromium when run as root")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def python_env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}
