"""`--only best`: the best CNN's accuracy in ten minutes of training, beside the tutorial's dense
network; its first seed's model is kept in bench/results/best.keras."""

from __future__ import annotations

import statistics

from bench.sections import ROOT, speed
from bench.sections.speed import milestone_text, seeds_of, spread
from bench.table import collector


def bench_best():
    row, rows = collector()
    print("best accuracy", flush=True)
    from mnist_core import storage
    from mnist_core.networks.presets import ARCHITECTURES
    best = ARCHITECTURES["cnn_best"]
    accuracy, seconds, milestones, runs = seeds_of("cnn_best", speed.SEEDS[:speed.BEST_SEEDS])
    dense_acc, dense_s, _, _ = seeds_of("dense")
    row(f"Best CNN ({best.epochs} epochs of {best.batch_size}), {len(runs)} of {len(speed.SEEDS)} seeds: mean test accuracy "
        "≥ 99.70 % in ≤ 10 min of training",
        f"{spread(accuracy)} in {spread(seconds, 's')}; {milestone_text(milestones)}",
        f"tutorial dense network ({ARCHITECTURES['dense'].epochs} epochs of "
        f"{ARCHITECTURES['dense'].batch_size}): {spread(dense_acc)} in {spread(dense_s, 's')}",
        statistics.mean(accuracy) >= 0.997 and max(seconds) <= 600)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    storage.save_model(runs[0][3], out / "best.keras", {"name": "Best CNN", "arch": "cnn_best",
                                                        "seed": speed.SEEDS[0], "test_accuracy": accuracy[0]})
    return rows
