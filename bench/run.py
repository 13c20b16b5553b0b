"""MNIST Studio's benchmarks: every target measured beside its baseline, in one run, on this machine.

    python bench/run.py                 # everything (about 20 minutes on 2 CPU cores)
    python bench/run.py --only predict charts drawn

Prints one markdown table and appends it, unedited, to docs/benchmarks.md with the date, the commit
and the sections run (--no-record leaves the file alone). Timings are wall-clock on a shared
machine: ratios measured side by side are the figures to trust. Each section is a module of
bench/sections/ named as --only names it; bench/table.py writes what they found.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench import table  # noqa: E402
from bench.sections import (best, charts, cpu, drawn, inside, memory, predict, server, speed,  # noqa: E402
                            visits, warm)

SECTIONS = {"predict": predict.bench_predict, "charts": charts.bench_charts, "speed": speed.bench_speed,
            "best": best.bench_best, "drawn": drawn.bench_drawn, "server": server.bench_server,
            "memory": memory.bench_memory, "warm": warm.bench_warm, "inside": inside.bench_inside,
            "cpu": cpu.bench_cpu, "visits": visits.bench_visits}


def main():
    seeds = speed.SEEDS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), help="run only these sections")
    parser.add_argument("--seeds", type=int, default=len(seeds), choices=range(1, len(seeds) + 1),
                        help=f"train each preset with the first N of seeds {seeds} (default all)")
    parser.add_argument("--best-seeds", type=int, default=len(seeds), choices=range(1, len(seeds) + 1),
                        help="train the best preset with only the first N seeds (default all)")
    parser.add_argument("--no-record", action="store_true",
                        help="don't append the table to " + str(table.RECORD.relative_to(ROOT)))
    args = parser.parse_args()
    speed.SEEDS, speed.BEST_SEEDS = seeds[:args.seeds], min(args.best_seeds, args.seeds)
    table.RECORDING = not args.no_record
    sections = args.only or list(SECTIONS)
    rows = [found for name in sections for found in SECTIONS[name]()]
    text = table.table(sections, rows)
    print("\n" + text)
    table.record(text)


if __name__ == "__main__":
    main()
