"""The Predict page's canvas as code: its size, the brush widths it offers, and its round brush.

Everything that draws "as a visitor would" (the training drawings, real pen trajectories, the
benchmark's shapes) paints through `paint`, so a drawing reaches `canvas_to_mnist` as the page's
canvas would hand it over.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

CANVAS = 280              # the canvas' side, in pixels
STROKE_WIDTHS = (8, 32)   # the brush widths the page's slider offers (wider: heavier than any MNIST digit)


def paint(paths: list, brush: int) -> np.ndarray:
    """Pen-down strokes in canvas pixels, each drawn on its own with the canvas' round brush:
    (CANVAS, CANVAS) uint8, ink 255 on 0. A stroke of one point is a dot."""
    canvas = Image.new("L", (CANVAS, CANVAS), 0)
    pen = ImageDraw.Draw(canvas)
    for shape in paths:
        path = [tuple(p) for p in np.asarray(shape, dtype=np.float64)]
        if len(path) > 1:
            pen.line(path, fill=255, width=brush, joint="curve")
        for x, y in (path[0], path[-1]):                  # round caps, like the canvas' brush
            pen.ellipse([x - brush / 2, y - brush / 2, x + brush / 2, y + brush / 2], fill=255)
    return np.asarray(canvas)


INK_RGB = (30, 27, 75)     # the page's stroke colour, #1e1b4b


def returned(strokes: list, brush: int) -> tuple[np.ndarray, dict]:
    """What the page's canvas returns for these pen strokes (canvas pixels, in order): its RGBA image
    (ink in the alpha channel) and its json_data, each stroke the path the canvas makes of it."""
    from .pen import fabric_path
    alpha = paint(strokes, brush)
    rgba = np.dstack([np.full_like(alpha, value) for value in INK_RGB] + [alpha])
    objects = [{"type": "path", "strokeWidth": brush, "path": fabric_path(s)} for s in strokes]
    return rgba, {"version": "7.4.0", "objects": objects}


def random_brush(rng: np.random.Generator) -> int:
    return int(rng.integers(STROKE_WIDTHS[0], STROKE_WIDTHS[1] + 1))


def in_parallel(function, tasks: list[tuple]) -> list:
    """[function(*task) for task in tasks], on every core: drawing and preparing thousands of
    canvases is CPU work. Worker processes are spawned, not forked (the parent may hold
    TensorFlow's threads); `function` must be a module-level function."""
    import os
    import sys
    import types
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context
    if len(tasks) <= 1 or (os.cpu_count() or 1) == 1:
        return [function(*task) for task in tasks]
    # A spawned worker re-runs the parent's __main__ file; Streamlit (and AppTest) run each page as
    # __main__, so a worker started from a server would start the app. The workers need mnist_core only.
    caller = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        with ProcessPoolExecutor(min(len(tasks), os.cpu_count() or 1), mp_context=get_context("spawn")) as pool:
            return list(pool.map(function, *zip(*tasks)))
    finally:
        sys.modules["__main__"] = caller
