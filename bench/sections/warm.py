"""`--only warm`: #13's warm start, the first visits to Predict and Explore on a server that
started warming up a few seconds earlier."""

from __future__ import annotations

import shutil
import time

from bench.sections import data_dir
from bench.table import collector


def bench_warm(settle_s=10.0):
    """#13's warm start: a server started `settle_s` earlier (warming up in the background), then
    the first visit to Predict (until its canvas is there to draw on) and, in a fresh browser
    context, to Explore (until its first image is drawn)."""
    row, rows = collector()
    print("warm start", flush=True)
    from playwright.sync_api import sync_playwright

    from bench.server import CHROMIUM_FLAGS, start_server, stop_server
    process, url = start_server(data_dir())
    try:
        time.sleep(settle_s)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"),
                                                 args=CHROMIUM_FLAGS)
            timings = {}
            visits = (("Predict", "/predict", "canvas.upper-canvas"),
                      ("Explore", "/explore", "[data-testid='stImage'] img"))
            for visit in ("first", "again"):        # again: a new session once all is cached
                for name, path, ready in visits:
                    page = browser.new_context().new_page()
                    started = time.perf_counter()
                    page.goto(url + path)
                    page.locator(ready).first.wait_for(timeout=180_000)
                    timings[name, visit] = time.perf_counter() - started
                    page.context.close()
            browser.close()
        for name, _, _ in visits:
            seconds = timings[name, "first"]
            row(f"Warm start: first visit to {name} in Chromium, server started {settle_s:.0f} s "
                "earlier (target <= 2 s)", f"{seconds:.1f} s",
                f"a second visit in a new session, all cached: {timings[name, 'again']:.1f} s",
                seconds <= 2.0)
    finally:
        stop_server(process)
    return rows
