"""`--only inside`: looking inside one drawing (activations, attributions, neighbours, the map),
beside a plain prediction."""

from __future__ import annotations

import statistics
import time

import numpy as np

from bench.sections import ROOT, data
from bench.table import collector


def bench_inside(calls=20):
    """Looking inside one drawing, with the default model, beside a plain prediction."""
    row, rows = collector()
    print("inside the network", flush=True)
    from mnist_core import inspect, storage
    from mnist_core.drawings import pendigits
    from mnist_core.predict import Predictor
    from mnist_core.preprocess import to_model_input
    model, _ = storage.load_model(ROOT / "models" / "default.keras")
    predictor = Predictor(model)
    started = time.perf_counter()
    index = inspect.NeighbourIndex(model, data().x_train, data().y_train)
    build_s = time.perf_counter() - started
    feature_map = inspect.FeatureMap(model, to_model_input(data().x_test[::5]))
    images = list(pendigits.prepared("held_out")[0][:calls].astype(np.float32) / 255)

    def everything(image):
        guess = int(predictor.predict_proba(image)[0].argmax())
        inspect.activations(model, image)
        inspect.integrated_gradients(model, image, target=guess)
        inspect.occlusion(model, image, patch=4, target=guess)
        inspect.grad_cam(model, image, target=guess)
        index.nearest(image, 10)
        feature_map.place(image)

    for image in images[:3]:          # warm-up: the first calls trace TensorFlow functions
        everything(image)
    together, ig, plain, query = [], [], [], []
    for image in images:              # interleaved, so all see the same machine
        for bucket, work in ((together, lambda: everything(image)),
                             (ig, lambda: inspect.integrated_gradients(model, image)),
                             (plain, lambda: predictor.predict_proba(image)),
                             (query, lambda: index.nearest(image, 10))):
            started = time.perf_counter()
            work()
            bucket.append(time.perf_counter() - started)
    median = statistics.median
    row("Inside one drawing, default model: activations, integrated gradients, occlusion, Grad-CAM, "
        f"10 neighbours of 60,000, map point, median of {calls} (target ≤ 300 ms)",
        f"{median(together) * 1000:.0f} ms", f"a plain prediction: {median(plain) * 1000:.1f} ms", median(together) <= 0.3)
    row("One attribution (integrated gradients, 64 steps) vs one Predictor call (target ≤ 25×)",
        f"{median(ig) * 1000:.1f} ms", f"Predictor: {median(plain) * 1000:.1f} ms → **{median(ig) / median(plain):.1f}×**",
        median(ig) / median(plain) <= 25)
    row("Neighbour index: build for 60,000 training images (target ≤ 10 s) and one query (≤ 50 ms)",
        f"build {build_s:.1f} s, query {median(query) * 1000:.1f} ms", "", build_s <= 10 and median(query) <= 0.05)
    return rows
