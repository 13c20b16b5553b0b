"""First visits (bench/run.py --only visits): from navigation to a page's first content, in Chromium,
each visit in a new browser context (a cold browser cache), on a server started and warmed up
before; beside a bare one-line Streamlit page on its own server, measured in the same run.

    python bench/first_visit.py --repeats 5

"First content": the page's title (its h1) is on the screen. Work a page needs later
(TensorFlow, the models) must not hold it back.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.server import CHROMIUM_FLAGS, start_server, stop_server, wait_warm  # noqa: E402

PAGES = {"Overview": "/", "Tutorial": "/tutorial", "Explore": "/explore", "Predict": "/predict"}
TARGET_RATIO = 1.5
FIRST_CONTENT = "[data-testid='stMain'] h1"
BARE_APP = 'import streamlit as st\nst.title("Hello")\n'


def visit(browser, url: str) -> float:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})   # a cold cache
    page = context.new_page()
    try:
        started = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.locator(FIRST_CONTENT).first.wait_for(timeout=120_000)
        return time.perf_counter() - started
    finally:
        context.close()


def measure(repeats: int = 5, mnist: Path | None = None) -> dict:
    from playwright.sync_api import sync_playwright
    mnist = mnist or Path(os.environ.get("MNIST_DATA") or ROOT.parent / "shared" / "mnist")
    bare = Path(tempfile.mkdtemp()) / "bare.py"
    bare.write_text(BARE_APP)
    app, app_url = start_server(mnist)
    plain, plain_url = start_server(mnist, command=[sys.executable, "-m", "streamlit", "run", str(bare)])
    times: dict[str, list[float]] = {name: [] for name in ["bare page", *PAGES]}
    try:
        wait_warm(app_url)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS)
            visit(browser, plain_url)                       # each server's first answer is not a visit
            visit(browser, app_url + "/?lang=en")
            for _ in range(repeats):                        # interleaved: every page sees the same machine
                times["bare page"].append(visit(browser, plain_url))
                for name, path in PAGES.items():
                    times[name].append(visit(browser, f"{app_url}{path}?lang=en"))
            browser.close()
    finally:
        stop_server(app)
        stop_server(plain)
    return {name: statistics.median(values) for name, values in times.items()}


def report(medians: dict, repeats: int) -> list[str]:
    bare = medians["bare page"]
    lines = [f"First visit, navigation to the page's title, Chromium, median of {repeats}, cold browser cache",
             "| page | median | × bare page | verdict (≤ 1.5×) |", "| --- | --- | --- | --- |",
             f"| bare one-line Streamlit page | {bare:.2f} s | 1.0× | — |"]
    for name in PAGES:
        ratio = medians[name] / bare
        lines.append(f"| {name} | {medians[name]:.2f} s | {ratio:.2f}× | "
                     f"{'met' if ratio <= TARGET_RATIO else '**not met**'} |")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print("\n".join(report(measure(args.repeats), args.repeats)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
