"""Memory that comes back: sessions that train, predict and leave must not grow the server.

    python bench/memory.py                 # 6 sessions, one after another (~3 minutes)

A real server (`streamlit run`, loopback only) and real browser sessions (Debian's Chromium): each
session opens Train, trains the tutorial's network for one epoch, opens Predict through the
navigation (the same session), then closes its tab. The server's resident memory is read after
each session has been released. Target: after six such sessions the server is within +150 MiB of
where it was after the first. Closed sessions are released after MNIST_STUDIO_RELEASE_AFTER_SECONDS
(60 s by default; 5 s here, so the run takes minutes, not a quarter of an hour).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load_test import rss_mib  # noqa: E402
from bench.server import ARTIFACTS, CHROMIUM_FLAGS, start_server, stop_server, wait_for_app  # noqa: E402

TARGET_MIB = 150
RELEASE_AFTER_S = 5
JANITOR_S = 10        # studio.state.JANITOR_EVERY_SECONDS


def one_session(browser, url: str) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{url}/train?epochs=1")
    wait_for_app(page, 180_000)
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("finished after").wait_for(timeout=180_000)
    wait_for_app(page)
    page.get_by_role("link", name="Predict").first.click()     # the same session, another page
    page.get_by_text("Waiting for a digit").wait_for(timeout=120_000)
    wait_for_app(page)
    context.close()


def settle(pid: int) -> float:
    """RSS once the closed session has been released: the janitor's first round after the close
    notes the absence, the first round after the grace releases it (+ a margin)."""
    time.sleep(RELEASE_AFTER_S + 2 * JANITOR_S + 3)
    return rss_mib(pid)


def measure(sessions: int) -> tuple[list[float], float]:
    """Server RSS (MiB) after each session has been released, and before the first."""
    from playwright.sync_api import sync_playwright
    ARTIFACTS.mkdir(exist_ok=True)
    mnist = os.environ.get("MNIST_DATA") or str(ROOT.parent / "shared" / "mnist")
    process, url = start_server(mnist, {"MNIST_STUDIO_RELEASE_AFTER_SECONDS": str(RELEASE_AFTER_S)})
    readings = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"),
                                                 headless=True, args=CHROMIUM_FLAGS)
            idle = rss_mib(process.pid)
            for number in range(1, sessions + 1):
                started = time.monotonic()
                one_session(browser, url)
                readings.append(settle(process.pid))
                print(f"session {number}: {time.monotonic() - started:.0f} s, server RSS after release "
                      f"{readings[-1]:.0f} MiB", flush=True)
            browser.close()
    finally:
        stop_server(process)
    return readings, idle


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=6)
    args = parser.parse_args()
    readings, idle = measure(args.sessions)
    growth = readings[-1] - readings[0]
    verdict = "met" if growth <= TARGET_MIB else "**not met**"
    print(f"\n| target | measured | baseline | verdict |\n| --- | --- | --- | --- |\n"
          f"| Memory comes back: {args.sessions} sessions each train one dense epoch, open Predict and "
          f"close; server within +{TARGET_MIB} MiB of where it was after the first | "
          f"+{growth:.0f} MiB ({readings[0]:.0f} → {readings[-1]:.0f} MiB; after each: "
          f"{', '.join(f'{r:.0f}' for r in readings)}) | server idle before any session: {idle:.0f} MiB "
          f"| {verdict} |")
    return 0 if growth <= TARGET_MIB else 1


if __name__ == "__main__":
    sys.exit(main())
