"""A class drawing its own test set at once (issue #28), at the server, over Streamlit's own protocol.

    python bench/class_load.py --learners 60 --predict-learners 20

Each of --learners sessions opens a class's page (/class?code=...) and draws its round: for each
digit the page asks for, a think pause (during which its "Our handwriting" view refreshes every
3 s, as the browser's timer does), the canvas value (a PNG and Fabric.js paths, as the component
sends them), then Keep; timed from Keep to the next digit shown (the drawing read by the best
reader, written to the store, the round moved on). After its round each learner presses "Watch the
class's results live" and its view refreshes every 5 s until the whole class is done; the teacher's
view is live throughout; a learner's view stays still while it draws, as on the page. Meanwhile --predict-learners draw on Predict
(bench/protocol_load.py's learners). Every model on the board is measured once per set version on
the server's worker thread while this goes on. Reports both p95s against 1 s, failures, drawings
stored, and the server's peak memory. Loopback only, every loop bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import websockets  # noqa: E402
from PIL import Image  # noqa: E402

from bench import protocol_load  # noqa: E402
from bench.load_test import MemoryWatch  # noqa: E402
from bench.protocol_load import Session  # noqa: E402
from bench.server import start_server, stop_server, wait_warm  # noqa: E402

REFRESH_SECONDS = 5              # the Our handwriting view's timer (studio/store/handwriting.py)


def class_canvas_value(digit: int) -> str:
    """The canvas component's value for `digit` in mnist_core.drawings.strokes' first style: its
    PNG and its Fabric.js paths (json_data), as the browser sends them."""
    from mnist_core.drawings.canvas import CANVAS, paint
    from mnist_core.drawings.strokes import DIGITS
    paths = [np.asarray(stroke) * [CANVAS * 0.4, CANVAS * 0.76] + [CANVAS * 0.3, CANVAS * 0.12]
             for stroke in DIGITS[digit][0]]
    alpha = paint(paths, 20)
    rgba = np.dstack([np.full_like(alpha, 30), np.full_like(alpha, 27), np.full_like(alpha, 75), alpha])
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, "PNG")
    objects = [{"type": "Path", "strokeWidth": 20, "left": float(p[:, 0].min()), "top": float(p[:, 1].min()),
                "path": [["M", *map(float, p[0])]] + [["L", *map(float, q)] for q in p[1:]]} for p in paths]
    raw = {"version": "7.4.0", "objects": objects, "background": ""}
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    return json.dumps({"drawing": {"raw": raw, "data": url}})


def asked(session: Session) -> int | None:
    """The digit the round asks for now (the last one drawn: Keep reruns the round), None once done."""
    found = None
    for element in session.elements:
        if element.WhichOneof("type") == "markdown" and element.markdown.body.startswith("### Draw a **"):
            found = int(element.markdown.body.split("**")[1])
        elif element.WhichOneof("type") == "alert" and element.alert.body.startswith("Round done"):
            found = None
    return found


VALUES: dict = {}


async def watch_board(session: Session, query: str, board: str, results: dict, args_learners: int) -> None:
    """The live view's timer: a board refresh every REFRESH_SECONDS until every learner is done."""
    while results["done"] < args_learners and board:
        await asyncio.sleep(REFRESH_SECONDS)
        await session.run("class", query=query, fragment_id=board)
        if session.find("exception") is not None:
            results["failures"].append("an exception on the board")
            return
        results["refreshes"] += 1


async def drawer(url: str, query: str, results: dict, gate: asyncio.Event, think: tuple, seed: int):
    from streamlit.proto.WidgetStates_pb2 import WidgetState
    pause = np.random.default_rng(seed)
    try:
        async with Session(url) as session:
            await session.run("class", query=query)
            canvas = session.find("bidi_component", lambda c: "hand_canvas" in c.id)
            keep = session.find("button", lambda b: b.label == "Keep")
            board = session.fragment_of("markdown", lambda m: m.body.startswith("#### Every model"))
            fragment = session.fragment_of("button", lambda b: b.label == "Keep")
            if canvas is None or keep is None or asked(session) is None:
                results["failures"].append("no drawing round on the class page")
                if os.environ.get("CLASS_LOAD_DEBUG"):
                    print([(e.WhichOneof("type"), str(getattr(e, e.WhichOneof("type")))[:80]) for e in session.elements])
                return
            results["opened"] += 1
            await gate.wait()
            for _ in range(10):
                digit = asked(session)
                if digit is None:
                    break
                await asyncio.sleep(pause.uniform(*think))       # drawing takes a person a few seconds
                drawing = WidgetState(id=canvas.id, json_value=VALUES[digit])
                await session.run("class", query=query, widgets=[drawing], fragment_id=fragment)
                canvas = session.find("bidi_component", lambda c: "hand_canvas" in c.id) or canvas
                press = WidgetState(id=keep.id, trigger_value=True)
                shown = f"### Draw a **{digit}**"
                drawing = WidgetState(id=canvas.id, json_value=VALUES[digit])
                seconds = await session.run("class", query=query, widgets=[drawing, press], fragment_id=fragment,
                                            until=lambda e: (e.WhichOneof("type") == "markdown" and e.markdown.body
                                                 .startswith("### Draw a **") and e.markdown.body != shown)
                                            or (e.WhichOneof("type") == "alert" and e.alert.body.startswith("Round done")))
                if session.find("exception") is not None:
                    results["failures"].append("an exception on the page")
                elif session.find("alert", lambda a: "nothing was kept" in a.body or "wait a moment" in a.body):
                    results["failures"].append("a drawing was refused")
                elif seconds is None or asked(session) == digit:
                    results["failures"].append("the round did not move on")
                else:
                    results["keeps"].append(seconds)
                canvas = session.find("bidi_component", lambda c: "hand_canvas" in c.id) or canvas
                keep = session.find("button", lambda b: b.label == "Keep") or keep
            results["done"] += 1
            watch = session.find("button", lambda b: b.label == "Watch the class's results live")
            if watch is not None:                 # pressed: the page reruns with its view live
                await session.run("class", query=query, widgets=[WidgetState(id=watch.id, trigger_value=True)],
                                  fragment_id=fragment)
                board = session.fragment_of("markdown", lambda m: m.body.startswith("#### Every model"))
                await watch_board(session, query, board, results, args_learners=results["learners"])
    except (OSError, asyncio.TimeoutError, websockets.ConnectionClosed) as exc:
        results["failures"].append(f"{type(exc).__name__}: {exc}")


async def main_async(args, url: str, code: str) -> tuple[dict, dict]:
    VALUES.update({digit: class_canvas_value(digit) for digit in range(10)})
    protocol_load.VALUES.update({d: protocol_load.canvas_value(d) for d in protocol_load.DRAWINGS})
    results = {"keeps": [], "failures": [], "opened": 0, "done": 0, "refreshes": 0, "learners": args.learners}
    predict = {"latencies": [], "failures": [], "wrong": [], "opened": 0, "whole_page": False}
    gate = asyncio.Event()
    query = f"lang=en&code={code}"
    teacher = Session(url)
    await teacher.__aenter__()              # the teacher opened the class first: the store is open
    await teacher.run("class", query=query)
    board = teacher.fragment_of("markdown", lambda m: m.body.startswith("#### Every model"))
    tasks = [asyncio.create_task(drawer(url, query, results, gate, tuple(args.think), seed))
             for seed in range(args.learners)]
    tasks += [asyncio.create_task(protocol_load.learner(url, args.predict_rounds, predict, gate, tuple(args.think),
                                                        1000 + seed)) for seed in range(args.predict_learners)]
    deadline = time.monotonic() + 600
    while results["opened"] + predict["opened"] + len(results["failures"]) + len(predict["failures"]) \
            < args.learners + args.predict_learners and time.monotonic() < deadline:
        await asyncio.sleep(0.2)                    # every session is on its page before the load starts
    gate.set()
    tasks.append(asyncio.create_task(watch_board(teacher, query, board, results, args.learners)))
    await asyncio.gather(*tasks)
    await teacher.__aexit__()
    return results, predict


def quantiles(values: list) -> tuple[float, float, float]:
    ordered = sorted(values) or [float("nan")]
    return (ordered[int(0.5 * (len(ordered) - 1))], ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
            ordered[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=60, help="learners drawing their round on the class page")
    parser.add_argument("--predict-learners", type=int, default=20)
    parser.add_argument("--predict-rounds", type=int, default=6)
    parser.add_argument("--think", type=float, nargs=2, default=(2.0, 6.0), metavar=("MIN", "MAX"))
    parser.add_argument("--max-seconds", type=float, default=1200)
    parser.add_argument("--p95-target", type=float, default=1.0)
    args = parser.parse_args(argv)
    data = Path(os.environ.get("MNIST_DATA") or ROOT.parent / "shared" / "mnist")
    folder = tempfile.mkdtemp(prefix="mnist-class-load-")
    from mnist_core.runstore import RunStore
    store = RunStore(f"sqlite:///{Path(folder) / 'mnist-studio.sqlite3'}")
    code, _ = store.create_class(None, "Load test")
    process, url = start_server(data, {"MNIST_STUDIO_DATA_DIR": folder})
    watch = MemoryWatch(process.pid)
    watch.start()
    try:
        wait_warm(url)
        started = time.perf_counter()
        results, predict = asyncio.run(asyncio.wait_for(main_async(args, url, code), args.max_seconds))
        elapsed = time.perf_counter() - started
    finally:
        watch.running = False
        stop_server(process)
    from mnist_core.runstore.handwriting import Handwriting
    stored = len(Handwriting(store).set(code))
    keep50, keep95, keep_max = quantiles(results["keeps"])
    pred50, pred95, pred_max = quantiles(predict["latencies"])
    wanted, sent = args.learners * 10, args.predict_learners * args.predict_rounds
    failures = results["failures"] + predict["failures"]

    def verdict(ok: bool) -> str:
        return "met" if ok else "**not met**"
    print(f"\nA class drawing its own test set: {args.learners} learners drawing a round of 10 on the class "
          f"page (its view live every {REFRESH_SECONDS} s once a round is done), {args.predict_learners} learners x "
          f"{args.predict_rounds} drawings on Predict, one every {args.think[0]:g}-{args.think[1]:g} s, "
          f"{os.cpu_count()} CPU cores, {elapsed:.0f} s\n")
    print("| | result | target | verdict |")
    print("| --- | --- | --- | --- |")
    print(f"| class drawings kept (in the store) | {len(results['keeps'])} ({stored}) of {wanted} | all | "
          f"{verdict(len(results['keeps']) == stored == wanted)} |")
    print(f"| Keep → next digit, p50 / p95 / max | {keep50:.2f} s / {keep95:.2f} s / {keep_max:.2f} s | "
          f"p95 ≤ {args.p95_target:g} s | {verdict(keep95 <= args.p95_target)} |")
    print(f"| Predict: drawing sent → answer, p50 / p95 / max | {pred50:.2f} s / {pred95:.2f} s / {pred_max:.2f} s"
          f" | p95 ≤ {args.p95_target:g} s | {verdict(pred95 <= args.p95_target and len(predict['latencies']) == sent)} |")
    print(f"| failures (refused, no answer, exception, lost connection) | {len(failures)} | 0 | {verdict(not failures)} |")
    print(f"| live board refreshes served (teacher and learners done) | {results['refreshes']} | shown | — |")
    print(f"| server memory, peak | {watch.peak:.0f} MiB | shown | — |")
    if failures:
        print("\nfailures:", sorted(set(failures))[:5])
    return 0 if (not failures and keep95 <= args.p95_target and pred95 <= args.p95_target) else 1


if __name__ == "__main__":
    sys.exit(main())
