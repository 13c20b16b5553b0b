"""The one writer of what the benchmarks found: each row as it is measured, the run's table,
docs/benchmarks.md (newest run first) and the presets' figures in docs/benchmarks.json.

Imports neither Streamlit nor TensorFlow: writing a file needs neither.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path

from mnist_core.networks import presets

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "docs" / "benchmarks.md"
HEADING = "# Benchmark runs\n\nEach run of `python bench/run.py` as it printed it, newest first.\n\n"
RECORDING = True         # --no-record: neither docs/benchmarks.md nor the cards' JSON is written

Row = tuple[str, str, str, str]     # target, measured, baseline / ratio (same run), verdict


def collector():
    """(row, rows) for one section: `row(target, measured, baseline, ok)` prints a figure the moment
    it is measured and adds it to `rows`, the list the section returns. `ok` None: no target."""
    rows: list[Row] = []

    def row(target, measured, baseline, ok: bool | None):
        verdict = "—" if ok is None else ("met" if ok else "**not met**")
        rows.append((target, measured, baseline, verdict))
        print(f"  {target}: {measured} | {baseline} | {verdict}", flush=True)
    return row, rows


def commit() -> str:
    """The commit measured, marked when the work tree differs from it (the figures are then not its)."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    # The files this run writes itself don't make the measured code differ from the commit.
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".",
                  ":(exclude)docs/benchmarks.md", ":(exclude)docs/benchmarks.json")
    return head + (" + uncommitted changes" if changed else "")


def table(sections, rows: list[Row]) -> str:
    lines = [f"## {time.strftime('%Y-%m-%d %H:%M')} · commit {commit()} · --only {' '.join(sections)}", "",
             f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}", "",
             "| target | measured | baseline, same run | verdict |", "| --- | --- | --- | --- |"]
    lines += [f"| {target} | {measured} | {baseline} | {verdict} |" for target, measured, baseline, verdict in rows]
    return "\n".join(lines) + "\n"


def record(text: str) -> None:
    """The run's table at the top of docs/benchmarks.md; earlier runs stay as they were printed."""
    if RECORDING:
        old = RECORD.read_text(encoding="utf-8").removeprefix(HEADING) if RECORD.exists() else ""
        RECORD.write_text(HEADING + text + "\n" + old, encoding="utf-8")


def record_measured(arch: str, figures: dict, *, path: Path | None = None) -> None:
    """A preset's figures for the Train page's card: replace `arch`'s entry, keep the others."""
    if not RECORDING:
        return
    path = path or presets.MEASURED
    measured = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    measured[arch] = {"when": time.strftime("%Y-%m-%d %H:%M"), "commit": commit(),
                      "cpu_cores": os.cpu_count(), **figures}
    path.write_text(json.dumps(measured, indent=1, sort_keys=True) + "\n", encoding="utf-8")
