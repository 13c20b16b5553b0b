"""The server's CPU per drawing on Predict, and where it goes (bench/run.py --only cpu).

    python bench/server_cpu.py --drawings 60

A learner speaking Streamlit's protocol (bench/protocol_load.py) sends N drawings, one after the
other, as the browser sends them: the canvas value, rerunning Predict's fragment. The server's
process CPU (user + system, every thread, /proc) over those N drawings, minus what the same server
spends idle over the same time, divided by N. The same drawings rerunning the whole app (as before
the fragment) are measured on the same server, interleaved in blocks. A second server, under
cProfile (bench/profiled_serve.py), says where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pstats
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import protocol_load as protocol  # noqa: E402
from bench.server import start_server, stop_server, wait_warm  # noqa: E402

TARGET_MS = 20.0
BRUSHES = (14, 18, 22, 26, 30)          # every drawing a different picture: nothing answered from a cache
QUIET_CORES = 0.10                      # the warm-up is over once the server uses less than this
BLOCK = 10                              # drawings per block; fragment and whole-app blocks alternate


def run_async(coroutine):
    """asyncio.run on a thread of its own: the caller may already be running an event loop (Playwright's
    sync API leaves one in the test process), and asyncio.run refuses to nest."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def process_cpu(pid: int) -> float:
    """Seconds of CPU the process has used, all threads, user + system."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_quiet(pid: int, limit_s: float = 300.0, window_s: float = 3.0) -> float:
    """Until the server's warm-up (TensorFlow, models, neighbour indexes) has finished."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        before = process_cpu(pid)
        time.sleep(window_s)
        rate = (process_cpu(pid) - before) / window_s
        if rate < QUIET_CORES:
            return rate
    return float("nan")


def drawings(count: int) -> list[tuple[int, str]]:
    digits = list(protocol.DRAWINGS)
    return [(digits[i % len(digits)], protocol.canvas_value(digits[i % len(digits)], BRUSHES[i // 2 % len(BRUSHES)]))
            for i in range(count)]


async def send_drawings(url: str, pid: int, count: int, idle_s: float) -> dict:
    """CPU per drawing (fragment and whole app, idle subtracted), answers checked."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState
    found = {"fragment": [0.0, 0.0], "whole": [0.0, 0.0], "wrong": 0, "missing": 0}
    async with protocol.Session(url) as session:
        await session.run("predict", query="lang=en")
        canvas = session.find("bidi_component", protocol.is_canvas)
        if canvas is None:
            raise RuntimeError("no canvas on Predict")
        fragment = session.fragment_of("bidi_component", protocol.is_canvas)
        if not fragment:
            raise RuntimeError("the canvas is not in a fragment")

        async def one(digit, value, fragment_id) -> None:
            widget = WidgetState(id=canvas.id, json_value=value)
            seconds = await session.run("predict", query="lang=en&source=draw", widgets=[widget],
                                        until=lambda e: protocol.prediction_of(e) is not None,
                                        fragment_id=fragment_id)
            said = next((protocol.prediction_of(e) for e in session.elements if protocol.prediction_of(e)), None)
            found["missing"] += seconds is None or session.find("exception") is not None
            found["wrong"] += said != str(digit)

        for digit, value in drawings(6):          # the first runs trace TensorFlow's functions
            await one(digit, value, fragment)
            await one(digit, value, "")
        before, started = process_cpu(pid), time.perf_counter()
        await asyncio.sleep(idle_s)                # the session open, nothing sent
        idle_rate = (process_cpu(pid) - before) / (time.perf_counter() - started)
        work = drawings(count)
        for first in range(0, count, BLOCK):
            for name, fragment_id in (("fragment", fragment), ("whole", "")):
                before, started = process_cpu(pid), time.perf_counter()
                for digit, value in work[first:first + BLOCK]:
                    await one(digit, value, fragment_id)
                elapsed = time.perf_counter() - started
                found[name][0] += process_cpu(pid) - before - idle_rate * elapsed
                found[name][1] += len(work[first:first + BLOCK])
    found["idle_rate"] = idle_rate
    return found


def profile(count: int, mnist: Path, top: int = 12, warm: bool = True) -> list[str]:
    """Where a fragment drawing's server CPU goes: cProfile over every thread of a second server."""
    out = Path(tempfile.mkdtemp()) / "predict.pstats"
    process, url = start_server(mnist, {"PROFILE_OUT": str(out), **_warm_env(warm)},
                                command=[sys.executable, "-m", "bench.profiled_serve"])
    try:
        if warm:
            wait_warm(url)
            wait_until_quiet(process.pid)

        async def go():
            from streamlit.proto.WidgetStates_pb2 import WidgetState
            async with protocol.Session(url) as session:
                await session.run("predict", query="lang=en")
                canvas = session.find("bidi_component", protocol.is_canvas)
                fragment = session.fragment_of("bidi_component", protocol.is_canvas)
                for index, (digit, value) in enumerate(drawings(count + 4)):
                    if index == 4:                  # traced: from here on, what every drawing costs
                        process.send_signal(signal.SIGUSR2)
                        await asyncio.sleep(0.5)
                    await session.run("predict", query="lang=en&source=draw", fragment_id=fragment,
                                      widgets=[WidgetState(id=canvas.id, json_value=value)])
            process.send_signal(signal.SIGUSR1)
        run_async(go())
        deadline = time.monotonic() + 60
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(1.0)
    finally:
        stop_server(process)
    stats = pstats.Stats(str(out))
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)   # own time
    total = sum(value[2] for _, value in rows)
    lines = [f"CPU per drawing over {count} drawings, all threads, under cProfile: {total / count * 1000:.1f} ms "
             "(cProfile slows Python code; read the shares)", "own time:"]
    for (path, line, name), (_, _, own, cumulative, _) in rows[:top]:
        lines.append(f"{own / total:6.1%}  {own / count * 1000:6.2f} ms  {name} ({_where(path)}:{line})")
    lines.append("the app's own functions, time inside them (includes what they call):")
    ours = [(key, value) for key, value in stats.stats.items()
            if any(f"/{part}/" in key[0] for part in ("studio", "mnist_core", "app_pages"))
            or key[0].endswith("streamlit_app.py")]
    for (path, line, name), (_, _, own, cumulative, _) in sorted(ours, key=lambda i: i[1][3], reverse=True)[:top]:
        lines.append(f"{cumulative / total:6.1%}  {cumulative / count * 1000:6.2f} ms  {name} ({_where(path)}:{line})")
    return lines


def _where(path: str) -> str:
    return "/".join(Path(path).parts[-2:]) if path != "~" else "built-in"


def _warm_env(warm: bool) -> dict:
    return {} if warm else {"MNIST_STUDIO_WARM_START": "0"}


def measure(count: int = 60, idle_s: float = 10.0, mnist: Path | None = None, profile_count: int = 30,
            warm: bool = True) -> dict:
    """`warm=False` (for the test of this benchmark's structure): servers without their warm-up,
    measured at once: the figures then include loading, and mean nothing."""
    mnist = mnist or Path(os.environ.get("MNIST_DATA") or ROOT.parent / "shared" / "mnist")
    process, url = start_server(mnist, _warm_env(warm))
    try:
        quiet = float("nan")
        if warm:
            wait_warm(url)
            quiet = wait_until_quiet(process.pid)
        found = run_async(send_drawings(url, process.pid, count, idle_s))
    finally:
        stop_server(process)
    result = {"drawings": count, "quiet_rate": quiet, "idle_rate": found["idle_rate"],
              "fragment_ms": found["fragment"][0] / found["fragment"][1] * 1000,
              "whole_ms": found["whole"][0] / found["whole"][1] * 1000,
              "wrong": found["wrong"], "missing": found["missing"], "target_ms": TARGET_MS}
    result["profile"] = profile(profile_count, mnist, warm=warm) if profile_count else []
    return result


def report(result: dict) -> list[str]:
    ok = result["fragment_ms"] <= TARGET_MS and not result["missing"]
    lines = [f"Server CPU per drawing on Predict, {result['drawings']} drawings through the protocol "
             f"(idle {result['idle_rate'] * 1000:.1f} ms/s subtracted)",
             f"  a drawing reruns Predict's fragment: {result['fragment_ms']:.1f} ms "
             f"(target <= {TARGET_MS:g} ms: {'met' if ok else 'NOT MET'})",
             f"  the same drawing rerunning the whole app: {result['whole_ms']:.1f} ms",
             f"  answers missing: {result['missing']}, not the digit drawn: {result['wrong']}"]
    return lines + ["  " + line for line in result["profile"]]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drawings", type=int, default=60)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--profile-drawings", type=int, default=30, help="0: no profile")
    args = parser.parse_args(argv)
    result = measure(args.drawings, args.idle_seconds, profile_count=args.profile_drawings)
    print("\n".join(report(result)))
    return 0 if not result["missing"] else 1


if __name__ == "__main__":
    sys.exit(main())
