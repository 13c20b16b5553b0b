"""Load test: N browser sessions drawing and predicting while M sessions train, on one server.

    python bench/load_test.py --predictors 20 --trainers 4 --rounds 4

Everything stays on this machine (the server listens on 127.0.0.1), every loop is bounded in count
and the whole run in time. Reports prediction latency (mouse-up on the canvas to the prediction on
the page), failures, training outcomes and the server's peak resident memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# What the Train page says when a run fails: one message per RunFailed code, read from the catalogue.
RUN_FAILED = [text.split("{")[0][:40] for key, text in json.loads(
    (ROOT / "studio" / "ui" / "locales" / "en.json").read_text("utf-8")).items() if key.startswith("train.failed.")]

from bench.server import ARTIFACTS, CHROMIUM_FLAGS, SETTLED_JS, start_server, stop_server  # noqa: E402

ONE = [[(0.5, 0.15), (0.5, 0.85)]]
SEVEN = [[(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]]


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class MemoryWatch(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0.0, True

    def run(self):
        while self.running:
            try:
                self.peak = max(self.peak, rss_mib(self.pid))
            except OSError:
                return
            time.sleep(0.25)


async def settled(page, timeout=120_000):
    await page.wait_for_selector("[data-testid='stApp']", timeout=timeout)
    await page.wait_for_timeout(300)
    await page.wait_for_function(SETTLED_JS, timeout=timeout, polling=200)


async def draw(page, strokes):
    canvas = page.locator("canvas.upper-canvas").first
    await canvas.wait_for(timeout=60_000)
    box = await canvas.bounding_box()
    for stroke in strokes:
        x0, y0 = stroke[0]
        await page.mouse.move(box["x"] + x0 * box["width"], box["y"] + y0 * box["height"])
        await page.mouse.down()
        for x, y in stroke[1:]:
            await page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=8)
        await page.mouse.up()


PREDICTION_JS = """(expected) => {
    const block = [...document.querySelectorAll('[data-testid="stMetric"]')]
        .find(m => m.innerText.includes('Prediction'));
    return block && block.querySelector('[data-testid="stMetricValue"]').innerText.trim() === expected;
}"""


async def predictor(browser, url, rounds, latencies, failures, name, delay):
    await asyncio.sleep(delay)      # visitors arrive one after another, not in the same instant
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    try:
        await page.goto(f"{url}/predict", wait_until="domcontentloaded", timeout=180_000)
        await settled(page)
        for round_number in range(rounds):
            strokes, expected = (ONE, "1") if round_number % 2 == 0 else (SEVEN, "7")
            await draw(page, strokes)
            started = time.perf_counter()
            try:
                await page.wait_for_function(PREDICTION_JS, arg=expected, timeout=60_000, polling=50)
                latencies.append(time.perf_counter() - started)
            except Exception as exc:  # a timeout or a wrong digit: both are failures to report
                shown = await page.locator("[data-testid='stMain']").inner_text()
                summary = " | ".join(line for line in shown.splitlines() if line.strip())[-240:]
                failures.append(f"{name} round {round_number}: no '{expected}' "
                                f"({type(exc).__name__}); the page showed: {summary}")
                await page.screenshot(path=str(ARTIFACTS / f"load-failure-{name}-{round_number}.png"))
            if await page.locator("[data-testid='stException']").count():
                failures.append(f"{name}: an exception reached the page")
            await page.get_by_role("button", name="Reset canvas & history").click()
            await page.get_by_text("The canvas is empty").wait_for(timeout=60_000)
    except Exception as exc:
        failures.append(f"{name}: {type(exc).__name__}: {str(exc)[:200]}")
    finally:
        await context.close()


async def trainer(browser, url, epochs, outcomes, failures, name, delay):
    await asyncio.sleep(delay)
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    try:
        await page.goto(f"{url}/train?epochs={epochs}", wait_until="domcontentloaded", timeout=180_000)
        await settled(page)
        started = time.perf_counter()
        await page.get_by_role("button", name="Start training").click()
        queued = False
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if await page.get_by_text("waiting for a free training slot").count():
                queued = True
            if await page.get_by_text("finished after").count():
                outcomes.append((name, time.perf_counter() - started, queued))
                break
            if any([await page.get_by_text(text).count() for text in RUN_FAILED]):
                failures.append(f"{name}: the run failed")
                break
            await page.wait_for_timeout(500)
        else:
            failures.append(f"{name}: training did not finish in time")
    except Exception as exc:
        failures.append(f"{name}: {type(exc).__name__}: {str(exc)[:200]}")
    finally:
        await context.close()


async def main_async(args):
    from playwright.async_api import async_playwright
    ARTIFACTS.mkdir(exist_ok=True)
    mnist = Path(os.environ.get("MNIST_DATA") or ROOT.parent / "shared" / "mnist")
    process, url = start_server(mnist)
    watch = MemoryWatch(process.pid)
    watch.start()
    latencies, failures, outcomes = [], [], []
    started = time.perf_counter()
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=shutil.which("chromium"),
                                                       args=CHROMIUM_FLAGS)
            # Warm the server (TensorFlow import, default model) before the crowd arrives.
            warm = await browser.new_page()
            await warm.goto(f"{url}/predict")
            await settled(warm)
            await warm.close()
            idle_rss = rss_mib(process.pid)
            tasks = [trainer(browser, url, args.epochs, outcomes, failures, f"trainer-{i}",
                             i * args.ramp) for i in range(args.trainers)]
            tasks += [predictor(browser, url, args.rounds, latencies, failures, f"predictor-{i}",
                                (args.trainers + i) * args.ramp) for i in range(args.predictors)]
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=args.timeout)
            await browser.close()
    finally:
        watch.running = False
        stop_server(process)
    elapsed = time.perf_counter() - started
    expected = args.predictors * args.rounds
    print(f"\nLoad test: {args.predictors} drawing sessions x {args.rounds} drawings, "
          f"{args.trainers} training sessions ({args.epochs} epoch each), arriving every "
          f"{args.ramp} s; {elapsed:.0f} s in all")
    print(f"| predictions answered | {len(latencies)} of {expected} |")
    if latencies:
        ordered = sorted(latencies)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        print(f"| prediction latency p50 / p95 / max | {statistics.median(ordered) * 1000:.0f} ms / "
              f"{p95 * 1000:.0f} ms / {ordered[-1] * 1000:.0f} ms |")
    print(f"| trainings finished | {len(outcomes)} of {args.trainers} "
          f"({sum(q for *_, q in outcomes)} waited in the queue) |")
    for name, seconds, queued in outcomes:
        print(f"|   {name} | {seconds:.0f} s{' (queued first)' if queued else ''} |")
    print(f"| server memory: idle with model / peak | {idle_rss:.0f} MiB / {watch.peak:.0f} MiB |")
    print(f"| failures | {len(failures)} |")
    for failure in failures:
        print("  -", failure)
    return 0 if not failures and len(latencies) == expected and len(outcomes) == args.trainers else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictors", type=int, default=20, help="sessions drawing (default 20)")
    parser.add_argument("--trainers", type=int, default=4, help="sessions training (default 4)")
    parser.add_argument("--rounds", type=int, default=4, help="drawings per session (default 4)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per training (default 1)")
    parser.add_argument("--ramp", type=float, default=1.5,
                        help="seconds between two visitors' arrivals (default 1.5)")
    parser.add_argument("--timeout", type=float, default=900, help="the whole run, seconds")
    args = parser.parse_args()
    if not (1 <= args.predictors <= 50 and 0 <= args.trainers <= 8 and 1 <= args.rounds <= 20):
        parser.error("keep it bounded: predictors 1-50, trainers 0-8, rounds 1-20")
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
