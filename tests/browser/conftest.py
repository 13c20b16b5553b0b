"""A real server and a real browser: `streamlit run` on a free loopback port, Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ..conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ROOT / "docs" / "screenshots"    # the README's pictures, retaken by every run
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(mnist_path, extra_env=None):
    port = free_port()
    env = dict(os.environ, MNIST_DATA=str(mnist_path), **(extra_env or {}))
    log = open(ARTIFACTS / f"server-{port}.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "studio.serve",     # streamlit run streamlit_app.py, warmed at launch
         "--server.headless=true", f"--server.port={port}", "--server.address=127.0.0.1",
         "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300        # generous: a busy machine starts Streamlit slowly
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"streamlit did not start; see {log.name}")


@pytest.fixture(scope="session")
def server(mnist_path):
    ARTIFACTS.mkdir(exist_ok=True)
    process, url = start_server(mnist_path)
    yield url
    stop_server(process)


def stop_server(process) -> None:
    """SIGTERM, then SIGKILL if it is still busy (e.g. the warm-up mid-way through an index)."""
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


@pytest.fixture(scope="session")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


SETTLED_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.dataset.testScriptState !== "notRunning") return false;
    if (!document.querySelector('[data-testid="stMain"] h1')) return false;
    if (document.querySelector('[data-testid="stSkeleton"], [data-testid="stSpinner"], [data-testid="stCacheSpinner"]')) return false;
    // Only what a person can see: a chart in a tab not shown is drawn when the tab opens.
    const shown = (element) => element.offsetParent !== null;
    const images = [...document.querySelectorAll('[data-testid="stMain"] img')].filter(shown);
    if (!images.every(img => img.complete && img.naturalWidth > 0)) return false;
    const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].filter(shown);
    return charts.every(chart => chart.querySelector('canvas, svg'));
}"""


def wait_for_app(page, timeout=60_000):
    """Until Streamlit has finished the script and every image and chart on the page is drawn."""
    page.wait_for_selector("[data-testid='stApp']", timeout=timeout)
    page.wait_for_timeout(400)   # let a rerun begin before asking whether it has ended
    page.wait_for_function(SETTLED_JS, timeout=timeout, polling=200)


def shot(page, name: str, height: int = 2000, docs: bool = False) -> Path:
    """A screenshot of the whole page. Streamlit scrolls inside its own container, so the viewport
    is made tall enough to hold the page instead of relying on full_page. With `docs`, it replaces
    the README's picture of the same name (commit it when the UI has changed)."""
    path = (SCREENSHOTS if docs else ARTIFACTS) / f"{name}.png"
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": height})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
    return path
