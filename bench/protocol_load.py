"""Load at the server: learners that speak Streamlit's own websocket protocol, not browsers.

    python bench/protocol_load.py --learners 100 --trainers 2 --train-epochs 5 --rounds 3
    python bench/protocol_load.py --class tutorial --learners 70 --trainers 30   # the note's fit, together
    python bench/protocol_load.py --class seeds --learners 70 --trainers 30      # 30 different seeds

Each learner opens Predict over `/_stcore/stream` and, like the browser, sends its drawing as the
canvas component's value (a PNG data URL in a BackMsg rerun), then waits for the ForwardMsg that
carries the answer; meanwhile other sessions press "Start training" on Train (the server runs
MNIST_STUDIO_MAX_TRAININGS=2 at once, the rest queue). Reports the time from sending a drawing to
the answer (p50 / p95 / max), failures (no answer, a wrong answer, an exception on the page, a lost
connection), trainings started, and the server's peak resident memory. Loopback only, every loop
bounded, the whole run under --max-seconds.

`--class` (issue #26) makes the trainers a class: `tutorial` presses the tutorial's "Train it as the
note does" (one identical run) within --spread seconds, `seeds` presses Train's "Start training" with
a seed each; each follows its run as the browser does (the live view's fragment, at its run_every) until
the page says it finished, and a learner told busy tries again when the estimate says. One run alone
is timed first, on the same server, as the yardstick; the drawers draw until the class is done.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import itertools
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

from bench.load_test import MemoryWatch, rss_mib  # noqa: E402
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
        self.auto_rerun: dict[str, float] = {}  # fragment -> its run_every, as the server asked

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
            if kind == "auto_rerun":        # a fragment's run_every: the browser reruns it at this pace
                self.auto_rerun[incoming.auto_rerun.fragment_id] = incoming.auto_rerun.interval
            if kind == "delta" and incoming.delta.WhichOneof("type") == "new_element":
                element = incoming.delta.new_element
                self.elements.append(element)
                self.fragments[id(element)] = incoming.delta.fragment_id
                if answered is None and until is not None and until(element):
                    answered = time.perf_counter() - sent
            elif kind == "script_finished" and incoming.script_finished in (
                    incoming.FINISHED_SUCCESSFULLY, incoming.FINISHED_WITH_COMPILE_ERROR,
                    incoming.FINISHED_FRAGMENT_RUN_SUCCESSFULLY, incoming.FINISHED_EARLY_FOR_RERUN):
                # A fragment's st.rerun() ends it early: the browser then reruns the whole page.
                self.rerun_asked = incoming.script_finished == incoming.FINISHED_EARLY_FOR_RERUN
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
    """Draw `rounds` drawings (until the class is done, with --class)."""
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
            for round_ in itertools.count():
                if results["class"] and results["class_done"].is_set():
                    break
                if not results["class"] and round_ >= rounds:
                    break
                await asyncio.sleep(pause.uniform(*think))     # drawing takes a person a few seconds
                digit = list(DRAWINGS)[round_ % len(DRAWINGS)]
                results["sent"] += 1
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


def texts_of(session: Session, kind: str = "alert") -> str:
    return " ".join(getattr(e, kind).body for e in session.elements if e.WhichOneof("type") == kind)


async def press(session: Session, page: str, query: str, label: str, seed: int | None) -> str:
    """Open `page` and press `label` (with the Seed widget set to `seed`): "started" or "busy"."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState
    await session.run(page, query=query)
    button = session.find("button", lambda b: b.label == label)
    if button is None:
        raise RuntimeError(f"no {label!r} button on {page}")
    widgets = [WidgetState(id=button.id, trigger_value=True)]
    if seed is not None:
        seed_box = session.find("number_input", lambda n: n.label == "Seed")
        widgets.append(WidgetState(id=seed_box.id, int_value=seed))
    await session.run(page, query=query, widgets=widgets)
    return "busy" if "busy" in texts_of(session) else "started"


async def trainer(url: str, results: dict, seed: int):
    query = f"lang=en&epochs={results['train_epochs']}"
    try:
        async with Session(url) as session:
            results["trainings"].append(await press(session, "train", query, "Start training", seed))
            results["trainer_sessions"].append(session)       # keep the socket: the run stays alive
            await results["drawn"].wait()                     # until the drawings are all answered
            await session.run("train", query=query)
            results["still_training"].append(session.find("progress") is not None)
    except (OSError, RuntimeError, asyncio.TimeoutError, websockets.ConnectionClosed) as exc:
        results["failures"].append(f"trainer {type(exc).__name__}: {exc}")


FINISHED = "finished after"      # train.done, with train.verb.finished
SHARED = "training this exact run with you"


async def follow(session: Session, page: str, query: str, pressed: float, timeout: float) -> dict:
    """Follow a run as the browser does (its live view's fragment at the pace the server set) until
    the page says it finished: what the learner saw."""
    seen = {"shared": False, "queued": False, "estimate": False}
    fragment = session.fragment_of("button", lambda b: b.label == "Stop")
    while time.perf_counter() - pressed < timeout:
        captions, alerts = texts_of(session, "text") + texts_of(session, "markdown"), texts_of(session)
        seen["shared"] |= SHARED in captions
        seen["queued"] |= "in line" in alerts
        seen["estimate"] |= "should start in about" in alerts
        if FINISHED in alerts:
            return seen | {"seconds": time.perf_counter() - pressed}
        if "Training failed" in alerts or session.find("exception") is not None:
            return seen | {"failed": alerts[:200]}
        await asyncio.sleep(session.auto_rerun.get(fragment, 0.5))
        live = session.find("button", lambda b: b.label == "Stop") is not None
        whole = not live or getattr(session, "rerun_asked", False)
        await session.run(page, query=query, fragment_id="" if whole else fragment)
        fragment = session.fragment_of("button", lambda b: b.label == "Stop") or fragment
    return seen | {"timeout": True}


async def class_member(url: str, results: dict, index: int, delay: float):
    """One learner of a class: press at `delay`, try again when told busy, follow the run to its end."""
    tutorial = results["class"] == "tutorial"
    page, label = ("tutorial", "Train it as the note does") if tutorial else ("train", "Start training")
    query = "lang=en&step=8" if tutorial else f"lang=en&epochs={results['train_epochs']}"
    try:
        async with Session(url) as session:
            await asyncio.sleep(delay)
            pressed = time.perf_counter()
            for _ in range(20):
                said = await press(session, page, query, label, None if tutorial else 1000 + index)
                if said == "started":
                    break
                busy = texts_of(session)
                results["busy"].append("about" in busy)        # refused: with an estimate?
                estimate = [float(w) for w in busy.split() if w.replace(".", "").isdigit()]
                await asyncio.sleep(min(60.0, max(2.0, estimate[0] if estimate else 10.0)))
            outcome = await follow(session, page, query, pressed, results["hold"])
            results["class_runs"].append(outcome)
    except (OSError, RuntimeError, asyncio.TimeoutError, websockets.ConnectionClosed) as exc:
        results["failures"].append(f"class {type(exc).__name__}: {exc}")


VALUES: dict = {}


async def alone(url: str, results: dict) -> None:
    """The yardstick: one learner's run of the same kind, on the same server, with no one else."""
    member = dict(results, class_runs=[])
    await class_member(url, member, -1, 0.0)
    results["alone"] = member["class_runs"][0].get("seconds") if member["class_runs"] else None


async def main_async(args, url: str) -> dict:
    VALUES.update({digit: canvas_value(digit) for digit in DRAWINGS})
    results = {"latencies": [], "failures": [], "wrong": [], "trainings": [], "opened": 0, "sent": 0,
               "trainer_sessions": [], "hold": args.max_seconds, "whole_page": args.whole_page,
               "train_epochs": args.train_epochs, "still_training": [], "class": args.class_,
               "class_runs": [], "busy": [], "class_done": asyncio.Event(), "drawn": asyncio.Event()}
    if args.class_:
        await alone(url, results)
    gate = asyncio.Event()
    learners = [asyncio.create_task(learner(url, args.rounds, results, gate, tuple(args.think), seed))
                for seed in range(args.learners)]
    while results["opened"] + len(results["failures"]) < args.learners and not all(t.done() for t in learners):
        await asyncio.sleep(0.2)                    # every learner is on Predict before the load starts
    if args.class_:
        gate.set()
        spread = np.random.default_rng(0).uniform(0, args.spread, args.trainers)
        started = time.perf_counter()
        await asyncio.gather(*[class_member(url, results, i, delay) for i, delay in enumerate(spread)])
        results["class_seconds"] = time.perf_counter() - started
        results["class_done"].set()
        await asyncio.gather(*learners)
        return results
    trainers = [asyncio.create_task(trainer(url, results, seed)) for seed in range(args.trainers)]
    await asyncio.sleep(args.training_head_start)   # the first runs are training when drawings arrive
    gate.set()
    await asyncio.gather(*learners)
    results["drawn"].set()
    await asyncio.wait_for(asyncio.gather(*trainers), 120)
    return results


class WorkersWatch(MemoryWatch):
    """The peak resident memory of the server's worker processes (the trainings), together."""

    def run(self):
        while self.running:
            pids = []     # children of every thread: a training's job thread starts its worker
            for task in Path(f"/proc/{self.pid}/task").glob("*/children"):
                try:
                    pids += task.read_text().split()
                except OSError:
                    pass
            total = 0.0
            for pid in pids:
                try:
                    total += rss_mib(int(pid))
                except OSError:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(0.25)


def class_rows(args, results: dict) -> bool:
    """The class's lines of the table; whether its targets were met."""
    runs, alone_s = results["class_runs"], results.get("alone")
    finished = sorted(run["seconds"] for run in runs if "seconds" in run)
    refused, with_estimate = len(results["busy"]), sum(results["busy"])
    print(f"| one run alone (the yardstick), pressed → finished | "
          f"{alone_s:.0f} s | — | — |" if alone_s else "| one run alone | did not finish | — | **not met** |")
    slowest = finished[-1] if finished else float("nan")
    met_all = len(finished) == args.trainers
    print(f"| class runs finished | {len(finished)} of {args.trainers} | all | {'met' if met_all else '**not met**'} |")
    print(f"| pressed → finished, median / slowest | {finished[len(finished) // 2] if finished else float('nan'):.0f} s / "
          f"{slowest:.0f} s | " + (f"≤ 1.5 × alone = {1.5 * alone_s:.0f} s | "
                                     f"{'met' if alone_s and slowest <= 1.5 * alone_s else '**not met**'} |"
                                     if args.class_ == "tutorial" else "shown | — |"))
    print(f"| the whole class, first press → last finished | {results['class_seconds']:.0f} s | shown | — |")
    busy_ok = refused == 0 if args.class_ == "tutorial" else with_estimate == refused
    print(f"| told busy (with an estimate) | {refused} ({with_estimate}) | "
          f"{'none' if args.class_ == 'tutorial' else 'only with an estimate'} | {'met' if busy_ok else '**not met**'} |")
    print(f"| saw their place in line / an estimate of when it starts | {sum(r['queued'] for r in runs)} / "
          f"{sum(r['estimate'] for r in runs)} | — | — |")
    print(f"| told the run is trained once for several learners | {sum(r['shared'] for r in runs)} | — | — |")
    return met_all and busy_ok and (args.class_ != "tutorial" or bool(alone_s and slowest <= 1.5 * alone_s))


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
    parser.add_argument("--train-epochs", type=int, default=5, help="epochs of each trainer's run")
    parser.add_argument("--class", dest="class_", choices=("tutorial", "seeds"),
                        help="the trainers are a class (see above)")
    parser.add_argument("--spread", type=float, default=10.0, help="seconds over which a class presses")
    args = parser.parse_args(argv)
    data = Path(os.environ.get("MNIST_DATA") or ROOT.parent / "shared" / "mnist")
    # No run is ready from memory: the yardstick run must not make the class's runs replays.
    process, url = start_server(data, {"MNIST_STUDIO_MAX_TRAININGS": str(args.trainings_at_once),
                                       "MNIST_STUDIO_RECENT_RUNS": "0"})
    watch, workers = MemoryWatch(process.pid), WorkersWatch(process.pid)
    watch.start()
    workers.start()
    try:
        wait_warm(url)          # a server started a while ago and warmed up; not a cold one
        started = time.perf_counter()
        results = asyncio.run(asyncio.wait_for(main_async(args, url), args.max_seconds))
        elapsed = time.perf_counter() - started
    finally:
        watch.running = workers.running = False
        stop_server(process)
    latencies = sorted(results["latencies"])
    sent = results["sent"]

    def quantile(q):
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")

    started_runs = results["trainings"].count("started")
    drawings = "drawings until the class is done" if args.class_ else f"{args.rounds} drawings"
    trainers = (f"a class of {args.trainers} pressing within {args.spread:g} s "
                f"({'the tutorial' + chr(39) + 's fit' if args.class_ == 'tutorial' else 'a seed each, ' + str(args.train_epochs) + ' epochs'})"
                if args.class_ else f"{args.trainers} trainers of {args.train_epochs} epochs")
    print(f"\nProtocol-level load test, {args.learners} learners x {drawings}, one every "
          f"{args.think[0]:g}-{args.think[1]:g} s, {trainers} ({args.trainings_at_once} "
          f"train at once, in niced worker processes), each drawing rerunning {'the whole app' if args.whole_page else 'Predict' + chr(39) + 's fragment'}, "
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
    class_met = True
    if args.class_:
        class_met = class_rows(args, results)
    else:
        lasted = sum(results["still_training"])
        print(f"| trainings started / told the server is busy | {started_runs} / "
              f"{results['trainings'].count('busy')} | — | — |")
        print(f"| trainings still training when the last drawing was answered | {lasted} of {started_runs} | "
              f"all | {'met' if started_runs and lasted == started_runs else '**not met**'} |")
    print(f"| server memory, peak | {watch.peak:.0f} MiB | " + (
        f"≤ {args.memory_target:g} MiB | {'met' if watch.peak <= args.memory_target else '**not met**'} |"
        if args.memory_target else "shown | — |"))
    print(f"| training workers' memory, peak (together) | {workers.peak:.0f} MiB | shown | — |")
    if results["failures"]:
        print("\nfailures:", sorted(set(results["failures"]))[:5])
    return 0 if (len(latencies) == sent and not results["failures"] and class_met) else 1


if __name__ == "__main__":
    sys.exit(main())
