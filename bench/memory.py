"""Memory that comes back: sessions that train, draw, look inside and leave must not grow the server.

    python bench/memory.py                 # 6 sessions, one after another (~5 minutes)

A real server (`streamlit run`, loopback only) and real browser sessions (Debian's Chromium): each
session opens Train, trains the tutorial's network for one epoch, opens Predict through the
navigation (the same session), draws a 7 with the mouse, opens every Inside view (Layers,
Evidence, Nearest training images, Map, Break it with units switched off), then closes its tab.
The server's resident memory is read after each session has been released (the server logs it).
Target: after six such sessions the server is within +150 MiB of where it was after the first.
Closed sessions are released after MNIST_STUDIO_RELEASE_AFTER_SECONDS (60 s by default; 5 s here,
so the run takes minutes, not a quarter of an hour).
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
PATIENCE_MS = 600_000      # each step may wait this long: a shared 2-core machine can be very slow
RELEASED_LINE = "released the models of"     # what the server logs once it has let a session go
SETTLE_DEADLINE_S = 180                      # generous: the release comes within a janitor round
SEVEN = [[(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]]
# Each Inside view by its English label, and what shows that it has been computed and drawn.
INSIDE_VIEWS = [("Layers", "units"), ("Evidence", "integrated gradients"),
                ("Nearest training images", "nearest first"), ("Map", "the diamond is yours"),
                ("Break it", "Units switched off")]


def one_session(browser, url: str) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{url}/train?epochs=1")
    wait_for_app(page, PATIENCE_MS)
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("finished after").wait_for(timeout=PATIENCE_MS)
    wait_for_app(page, PATIENCE_MS)
    page.get_by_role("link", name="Predict").first.click()     # the same session, another page
    page.get_by_text("Waiting for a digit").wait_for(timeout=PATIENCE_MS)
    wait_for_app(page, PATIENCE_MS)
    draw(page, SEVEN)
    page.get_by_test_id("stMetricLabel").filter(has_text="Prediction").first.wait_for(timeout=PATIENCE_MS)
    wait_for_app(page, PATIENCE_MS)
    for label, shown in INSIDE_VIEWS:
        page.get_by_test_id("stButtonGroup").get_by_text(label, exact=True).click()
        page.get_by_text(shown).first.wait_for(timeout=PATIENCE_MS)   # the first index: 60,000 images
        wait_for_app(page, PATIENCE_MS)
    slider = page.get_by_test_id("stSlider").filter(has_text="Units switched off").get_by_role("slider")
    slider.focus()
    for _ in range(4):                      # 20 % of the units off: a broken copy of the model
        slider.press("ArrowRight")
    page.get_by_text("Broken copy says").first.wait_for(timeout=PATIENCE_MS)
    wait_for_app(page, PATIENCE_MS)
    if page.get_by_test_id("stException").count():
        raise RuntimeError("the page showed an exception")
    context.close()


def draw(page, strokes) -> None:
    """Strokes (points in 0..1 of the canvas) drawn with the mouse."""
    canvas = page.locator("canvas.upper-canvas").first
    canvas.wait_for(timeout=PATIENCE_MS)
    box = canvas.bounding_box()
    for stroke in strokes:
        page.mouse.move(box["x"] + stroke[0][0] * box["width"], box["y"] + stroke[0][1] * box["height"])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=12)
        page.mouse.up()


def releases(log: Path) -> int:
    return log.read_text(errors="replace").count(RELEASED_LINE)


def settle(pid: int, log: Path, released_before: int) -> float:
    """RSS once the closed session has been released: the server logs each release after it has
    collected and trimmed the heap, so the reading waits for that line, not for a guessed time."""
    deadline = time.monotonic() + SETTLE_DEADLINE_S
    while releases(log) <= released_before:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server did not release the closed session; see {log}")
        time.sleep(0.5)
    return rss_mib(pid)


def measure(sessions: int) -> tuple[list[float], float]:
    """Server RSS (MiB) after each session has been released, and before the first."""
    from playwright.sync_api import sync_playwright
    ARTIFACTS.mkdir(exist_ok=True)
    mnist = os.environ.get("MNIST_DATA") or str(ROOT.parent / "shared" / "mnist")
    process, url = start_server(mnist, {"MNIST_STUDIO_RELEASE_AFTER_SECONDS": str(RELEASE_AFTER_S)})
    log = ARTIFACTS / f"server-{url.rsplit(':', 1)[1]}.log"        # start_server's log
    readings = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"),
                                                 headless=True, args=CHROMIUM_FLAGS)
            idle = rss_mib(process.pid)
            for number in range(1, sessions + 1):
                started, released = time.monotonic(), releases(log)
                one_session(browser, url)
                readings.append(settle(process.pid, log, released))
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
          f"| Memory comes back: {args.sessions} sessions each train one dense epoch, draw on Predict, "
          f"open every Inside view and close; server within +{TARGET_MIB} MiB of where it was after the first | "
          f"+{growth:.0f} MiB ({readings[0]:.0f} → {readings[-1]:.0f} MiB; after each: "
          f"{', '.join(f'{r:.0f}' for r in readings)}) | server idle before any session: {idle:.0f} MiB "
          f"| {verdict} |")
    return 0 if growth <= TARGET_MIB else 1


if __name__ == "__main__":
    sys.exit(main())
