"""`--only server`: a real `streamlit run` server in Chromium: MNIST's load, the cold start, the
server's memory after a training run and per extra session."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

from bench.sections import ROOT, data_dir
from bench.table import collector


def bench_server():
    row, rows = collector()
    print("pages and memory", flush=True)
    from playwright.sync_api import sync_playwright

    from bench.load_test import rss_mib
    from bench.server import CHROMIUM_FLAGS, start_server, stop_server, wait_for_app

    code = ("import time; t = time.perf_counter(); from mnist_core.data import load_mnist; "
            f"load_mnist({str(data_dir())!r}); print(time.perf_counter() - t)")
    load_s = float(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                                  text=True, check=True).stdout)
    row("MNIST from the four gzipped IDX files, checked (target well under 1 s)", f"{load_s:.2f} s",
        "", load_s < 1.0)

    started = time.perf_counter()
    process, url = start_server(data_dir())
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"),
                                                 args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/explore")
            wait_for_app(page, 180_000)
            to_explore = time.perf_counter() - started
            explore_rss = rss_mib(process.pid)
            started = time.perf_counter()
            page.get_by_role("link", name="Predict").first.click()
            page.locator("canvas.upper-canvas").first.wait_for(timeout=180_000)
            wait_for_app(page, 180_000)
            to_predict = time.perf_counter() - started
            model_rss = rss_mib(process.pid)
            row("Cold start: `streamlit run` → Explore rendered in Chromium (data loaded, no "
                "TensorFlow; target: an interactive page within 2 s)",
                f"{to_explore:.1f} s", f"server {explore_rss:.0f} MiB", to_explore <= 2.0)
            row("Explore → Predict with the default model (TensorFlow imported now)",
                f"{to_predict:.1f} s", f"server {model_rss:.0f} MiB", None)

            page.goto(f"{url}/train?epochs=1")
            wait_for_app(page, 180_000)
            page.get_by_role("button", name="Start training").click()
            page.get_by_text("finished after").wait_for(timeout=300_000)
            trained_rss = rss_mib(process.pid)
            row("Server memory with data and default model, after one training run (target < 1 GB)",
                f"{trained_rss:.0f} MiB", f"before training: {model_rss:.0f} MiB", trained_rss < 1024)

            extra = []
            for _ in range(5):
                context = browser.new_context()
                extra.append(context)
                other = context.new_page()
                other.goto(f"{url}/predict")
                wait_for_app(other, 180_000)
            per_session = (rss_mib(process.pid) - trained_rss) / len(extra)
            row("Memory growth per extra browser session (5 more on Predict)",
                f"{per_session:.1f} MiB", "", per_session < 20)
            browser.close()
    finally:
        stop_server(process)
    return rows
