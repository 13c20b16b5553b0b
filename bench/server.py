"""A real server and a real browser, one home for the tests and the benchmarks: `python -m
studio.serve` (streamlit run, warmed at launch) on a free loopback port, Debian's Chromium flags,
and when a page has settled."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"      # server logs, screenshots of failures
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SERVE = [sys.executable, "-m", "studio.serve"]     # streamlit run streamlit_app.py, warmed at launch


def start_server(mnist_path, extra_env=None, command=None):
    """A server on a free loopback port: the app (`command` defaults to SERVE), or any command that
    takes streamlit's options (e.g. [python, -m, streamlit, run, bare.py])."""
    port = free_port()
    env = dict(os.environ, MNIST_DATA=str(mnist_path), **(extra_env or {}))
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / f"server-{port}.log", "w")
    process = subprocess.Popen(
        [*(command or SERVE),
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


def stop_server(process) -> None:
    """SIGTERM, then SIGKILL if it is still busy (e.g. the warm-up mid-way through an index)."""
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


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


def wait_warm(url: str, limit_s: float = 600.0) -> float:
    """Until the app's warm-up (studio/server/warmup.py) has finished, as its server log says; seconds waited."""
    log = ARTIFACTS / f"server-{url.rsplit(':', 1)[1]}.log"
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        text = log.read_text(errors="replace") if log.exists() else ""
        if "warm-up: neighbour indexes ready" in text or "warm-up stopped" in text:
            break
        time.sleep(1.0)
    return time.monotonic() - started
