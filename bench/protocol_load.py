"""Load at the server: learners that speak Streamlit's own websocket protocol, not browsers.

    python bench/protocol_load.py --learners 100 --trainers 10 --rounds 3

Each learner opens Predict over `/_stcore/stream` and, like the browser, sends its drawing as the
canvas component's value (a PNG data URL in a BackMsg rerun), then waits for the ForwardMsg that
carries the answer; meanwhile other sessions press "Start training" on Train (the server runs
MNIST_STUDIO_MAX_TRAININGS=2 at once, the rest queue). Reports the time from sending a drawing to
the answer (p50 / p95 / max), failures (no answer, a wrong answer, an exception on the page, a lost
connection), trainings started, and the server's peak resident memory. Loopback only, every loop
bounded, the whole run under --max-seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import websockets  # noqa: E402
from PIL import Image  # noqa: E402
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from bench.load_test import MemoryWatch  # noqa: E402
from bench.server import start_server, stop_server, wait_warm  # noqa: E402

# Digits the learners draw, as canvas strokes (unit box) and what the answer must be.
DRAWINGS = {1: [[(0.5, 0.1), (0.5, 0.9)]], 7: [[(0.2, 0.15), (0.8, 0.15), (0.45, 0.9)]]}


def canvas_value(digit: int, brush: int = 22) -> str:
    """The canvas component's value for a drawing of `digit`, as the browser sends it: its image and
    its strokes as the canvas' paths (canvas.returned; a line gets the points a mouse gives)."""
    from mnist_core.drawings.canvas import CANVAS, returned
    paths = [np.asarray(stroke) * [CANVAS * 0.6, CANVAS * 0.8] + [CANVAS * 0.2, CANVAS * 0.1]
             for stroke in DRAWINGS[digit]]
    rgba, json_data = returned([np.linspace(s[0], s[-1], 12) if len(s) == 2 else s for s in paths], brush)
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, "PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    return json.dumps({"drawing": {"raw": json_data, "data": url}}, default=float)


class Session:
    """One learner's websocket session with the app."""

    def __init__(self, url: str):
        self.url = url.replace("http://", "ws://") + "/_stcore/stream"
        self.elements: list = []
        self.fragments: dict[int, str] = {}     # id(element) -> the fragment that drew it

    async def __aenter__(self):
        self.socket = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=2**26,
                                               open_timeout=60, ping_interval=None)
        return self

    async def __aexit__(self, *exc):
        await self.socket.close()

    async def run(self, page_name: str, *, query: str = "", widgets: list | None = None,
                  timeout: float = 120.0, until=None, fragment_id: str = "") -> float | None:
        """Run `page_name` (its address, e.g. "predict") with these widget values, reading until
        the script finishes; returns how long after sending `until(element)` first held, else
        None. Keeps the elements seen in self.elements. With `fragment_id`, reruns only that
        fragment, as the browser does when a widget inside it changes."""
        message = BackMsg()
        state = message.rerun_script
        state.query_string, state.page_name, state.fragment_id = query, page_name, fragment_id
        for widget in widgets or []:
            state.widget_states.widgets.append(widget)
        sent = time.perf_counter()
        await self.socket.send(message.SerializeToString())
        self.elements, answered = [], None
        deadline = sent + timeout
        while True:
            raw = await asyncio.wait_for(self.socket.recv(), max(0.1, deadline - time.perf_counter()))
            incoming = ForwardMsg()
            incoming.ParseFromString(raw)
            kind = incoming.WhichOneof("type")
            if kind == "delta" and incoming.delta.WhichOneof("type") == "new_element":
                element = incoming.delta.new_element
                self.elements.append(element)
                self.fragments[id(element)] = incoming.delta.fragment_id
                if answered is None and until is not None and until(element):
                    answered = time.perf_counter() - sent
            elif kind == "script_finished" and incoming.script_finished in (
                    incoming.FINISHED_SUCCESSFULLY, incoming.FINISHED_WITH_COMPILE_ERROR,
                    incoming.FINISHED_FRAGMENT_RUN_SUCCESSFULLY):
                return answered

    def fragment_of(self, kind: str, test=lambda e: True) -> str:
        """The fragment that drew the first such element ("" when the whole script did)."""
        element = next((e for e in self.elements if e.WhichOneof("type") == kind and test(getattr(e, kind))), None)
        return self.fragments.get(id(element), "") if element is not None else ""

    def find(self, kind: str, test=lambda e: True):
        return next((getattr(e, kind) for e in self.elements if e.WhichOneof("type") == kind
                     and test(getattr(e, kind))), None)


def prediction_of(element) -> str | None:
    return element.metric.body if element.WhichOneof("type") == "metric" and \
        element.metric.label == "Prediction" else None


def is_canvas(component) -> bool:
    return component.id.endswith("predict_canvas_0")


async def draw(session: Session, canvas, fragment: str, digit: int) -> tuple[float | None, str | None]:
    """Send a drawing of `digit` as the browser does; (seconds to the answer, the answer)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState
    widget = WidgetState(id=canvas.id, json_value=VALUES[digit])
    seconds = await session.run("predict", query="lang=en&source=draw", widgets=[widget],
                                until=lambda e: prediction_of(e) is not None, fragment_id=fragment)
    return seconds, next((prediction_of(e) for e in session.elements if prediction_of(e)), None)


async def learner(url: str, rounds: int, results: dict, start_gate: asyncio.Event, think: tuple, seed: int):
    try:
        async with Session(url) as session:
            await session.run("predict", query="lang=en")
            canvas = session.find("bidi_component", is_canvas)
            fragment = "" if results["whole_page"] else session.fragment_of("bidi_component", is_canvas)
            if canvas is None:
                results["failures"].append("no canvas on Predict")
                return
            results["opened"] += 1
            await start_gate.wait()
            pause = np.random.default_rng(seed)
            for round_ in range(rounds):
                await asyncio.sleep(pause.uniform(*think))     # drawing takes a person a few seconds
                digit = list(DRAWINGS)[round_ % len(DRAWINGS)]
                seconds, said = await draw(session, canvas, fragment, digit)
                if session.find("exception") is not None:
                    results["failures"].append("an exception on the page")
                elif seconds is None:
                    results["failures"].append("no answer")
                else:
                    results["latencies"].append(seconds)
                    if said != str(digit):
                        results["wrong"].append((digit, said))
    except (OSError, asyncio.TimeoutError, websockets.ConnectionClosed) as exc:
        results["failures"].append(f"{type(exc).__name__}: {exc}")


async def trainer(url: str, results: dict):
    from streamlit.proto.WidgetStates_pb2 import WidgetState
    try:
        async with Session(url) as session:
            await session.run("train", query="lang=en&epochs=1")
            button = session.find("button", lambda b: b.label == "Start training")
            if button is None:
                results["failures"].append("no Start button on Train")
                return
            await session.run("train", query="lang=en&epochs=1",
                              widgets=[WidgetState(id=button.id, trigger_value=True)])
            texts = " ".join(e.alert.body for e in session.elements if e.WhichOneof("type") == "alert")
            results["trainings"].append("busy" if "busy" in texts else "started")
            results["trainer_sessions"].append(session)       # keep the socket: the run stays alive
            await asyncio.sleep(results["hold"])
    except (OSError, asyncio.TimeoutError, websockets.ConnectionClosed) as exc:
        results["failures"].append(f"trainer {type(exc).__name__}: {exc}")


VALUES: dict = {}


async def main_async(args, url: str) -> dict:
    VALUES.update({digit: canvas_value(digit) for digit in DRAWINGS})
    results = {"latencies": [], "failures": [], "wrong": [], "trainings": [], "opened": 0,
               "trainer_sessions": [], "hold": args.max_seconds, "whole_page": args.whole_page}
    gate = asyncio.Event()
    learners = [asyncio.create_task(learner(url, args.rounds, results, gate, tuple(args.think), seed))
                for seed in range(args.learners)]
    while results["opened"] + len(results["failures"]) < args.learners and not all(t.done() for t in learners):
        await asyncio.sleep(0.2)                    # every learner is on Predict before the load starts
    trainers = [asyncio.create_task(trainer(url, results)) for _ in range(args.trainers)]
    await asyncio.sleep(args.training_head_start)   # the first runs are training when drawings arrive
    gate.set()
    await asyncio.gather(*learners)
    for task in trainers:
        task.cancel()
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=100)
    parser.add_argument("--trainers", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="drawings each learner sends")
    parser.add_argument("--think", type=float, nargs=2, default=(2.0, 6.0), metavar=("MIN", "MAX"),
                        help="seconds a learner takes to draw before each drawing is sent "
                             "(uniform; 0 0 sends every drawing at once: the worst burst)")
    parser.add_argument("--trainings-at-once", type=int, default=2)
    parser.add_argument("--training-head-start", type=float, default=8.0)
    parser.add_argument("--max-seconds", type=float, default=900)
    parser.add_argument("--p95-target", type=float, default=1.0, help="seconds; 0: shown, no target")
    parser.add_argument("--memory-target", type=float, default=2048, help="MiB; 0: shown, no target")
    parser.add_argument("--whole-page", action="store_true",
                        help="rerun the whole app for each drawing (as before Predict's fragment)")
    args = parser.parse_args(argv)
    data = Path(os.environ.get("MNIST_DATA") or ROOT.parent / "shared" / "mnist")
    process, url = start_server(data, {"MNIST_STUDIO_MAX_TRAININGS": str(args.trainings_at_once)})
    watch = MemoryWatch(process.pid)
    watch.start()
    try:
        wait_warm(url)          # a server started a while ago and warmed up; not a cold one
        started = time.perf_counter()
        results = asyncio.run(asyncio.wait_for(main_async(args, url), args.max_seconds))
        elapsed = time.perf_counter() - started
    finally:
        watch.running = False
        stop_server(process)
    latencies = sorted(results["latencies"])
    sent = args.learners * args.rounds

    def quantile(q):
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")

    started_runs = results["trainings"].count("started")
    print(f"\nProtocol-level load test, {args.learners} learners x {args.rounds} drawings, one every "
          f"{args.think[0]:g}-{args.think[1]:g} s, {args.trainers} trainers ({args.trainings_at_once} "
          f"train at once), each drawing rerunning {'the whole app' if args.whole_page else 'Predict' + chr(39) + 's fragment'}, "
          f"{os.cpu_count()} CPU cores, {elapsed:.0f} s\n")
    print("| | result | target | verdict |")
    print("| --- | --- | --- | --- |")
    print(f"| drawings answered | {len(latencies)} of {sent} | all | {'met' if len(latencies) == sent else '**not met**'} |")
    p95 = quantile(0.95)
    print(f"| drawing sent → answer, p50 / p95 / max | {quantile(0.5):.2f} s / {p95:.2f} s / "
          f"{(latencies or [float('nan')])[-1]:.2f} s | " + (
              f"p95 ≤ {args.p95_target:g} s | {'met' if p95 <= args.p95_target else '**not met**'} |"
              if args.p95_target else "shown | — |"))
    print(f"| failures (no answer, exception, lost connection) | {len(results['failures'])} | 0 | "
          f"{'met' if not results['failures'] else '**not met**'} |")
    print(f"| answers not the digit drawn | {len(results['wrong'])} | — | — |")
    print(f"| trainings started / told the server is busy | {started_runs} / "
          f"{results['trainings'].count('busy')} | {args.trainings_at_once} training throughout | — |")
    print(f"| server memory, peak | {watch.peak:.0f} MiB | " + (
        f"≤ {args.memory_target:g} MiB | {'met' if watch.peak <= args.memory_target else '**not met**'} |"
        if args.memory_target else "shown | — |"))
    if results["failures"]:
        print("\nfailures:", sorted(set(results["failures"]))[:5])
    return 0 if (len(latencies) == sent and not results["failures"]) else 1


if __name__ == "__main__":
    sys.exit(main())
