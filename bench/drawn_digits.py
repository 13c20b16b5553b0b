"""A drawn-digit evaluation set that is not MNIST: digits drawn as strokes on the app's canvas.

Each digit is one of a few hand-made stroke templates (pen trajectories in a unit box, the way
people write them), randomly sized, placed off-centre, slanted, rotated, wobbled and "written
quickly" (fewer, sloppier points), then drawn on a 280x280 canvas with a round brush of 8-32 px,
the range of the Predict page's stroke slider. MNIST test accuracy alone does not show how a model
reads such drawings; this set does.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from mnist_core.preprocess import STROKE_WIDTHS

CANVAS = 280
# The default model was chosen (and its misses looked at) on the sample drawn with seed 2026; the
# benchmark reports on another sample, never looked at while choosing. (The stroke templates are
# the same: it is a fresh sample of the same styles, not of new writers.)
CHOSEN_ON_SEED = 2026
HELD_OUT_SEED = 90210


def _arc(cx, cy, rx, ry, start, end, n=24):
    angles = np.radians(np.linspace(start, end, n))
    return list(zip(cx + rx * np.cos(angles), cy + ry * np.sin(angles)))


# Pen strokes in a unit box (x right, y down). Several ways of writing each digit.
TEMPLATES = {
    0: [[_arc(0.5, 0.5, 0.32, 0.45, -90, 275)],
        [_arc(0.5, 0.5, 0.26, 0.46, -100, 265)]],
    1: [[[(0.5, 0.05), (0.5, 0.95)]],
        [[(0.32, 0.22), (0.55, 0.05), (0.55, 0.95)]],
        [[(0.35, 0.2), (0.55, 0.05), (0.55, 0.95)], [(0.35, 0.95), (0.75, 0.95)]]],
    2: [[_arc(0.5, 0.3, 0.3, 0.25, 200, 370) + [(0.2, 0.95), (0.85, 0.95)]],
        [_arc(0.48, 0.28, 0.28, 0.23, 190, 380) + [(0.5, 0.65), (0.18, 0.95), (0.85, 0.92)]]],
    3: [[_arc(0.45, 0.27, 0.3, 0.22, 200, 450) + _arc(0.45, 0.72, 0.33, 0.24, -90, 160)],
        [[(0.2, 0.05), (0.75, 0.05), (0.42, 0.42)] + _arc(0.45, 0.7, 0.33, 0.27, -90, 160)]],
    4: [[[(0.6, 0.05), (0.15, 0.65), (0.85, 0.65)], [(0.65, 0.3), (0.65, 0.95)]],
        [[(0.3, 0.05), (0.2, 0.55), (0.8, 0.55)], [(0.72, 0.05), (0.72, 0.95)]]],
    5: [[[(0.78, 0.05), (0.28, 0.05), (0.22, 0.45)] + _arc(0.48, 0.68, 0.32, 0.27, -130, 150)],
        [[(0.3, 0.05), (0.25, 0.45)] + _arc(0.5, 0.68, 0.3, 0.26, -140, 150), [(0.3, 0.05), (0.8, 0.05)]]],
    6: [[[(0.7, 0.05), (0.35, 0.4)] + _arc(0.5, 0.7, 0.28, 0.25, 180, 540)],
        [_arc(0.65, 0.45, 0.45, 0.42, -80, -180, 12) + _arc(0.5, 0.72, 0.28, 0.23, 180, 530)]],
    7: [[[(0.15, 0.08), (0.85, 0.08), (0.4, 0.95)]],
        [[(0.15, 0.08), (0.85, 0.08), (0.4, 0.95)], [(0.35, 0.5), (0.75, 0.5)]],
        [[(0.2, 0.15), (0.2, 0.05), (0.8, 0.05), (0.5, 0.95)]]],
    8: [[_arc(0.5, 0.27, 0.25, 0.22, 90, -270) + _arc(0.5, 0.72, 0.3, 0.24, -90, 270)],
        [_arc(0.5, 0.28, 0.22, 0.22, 0, 360) + _arc(0.5, 0.72, 0.28, 0.24, -90, 270)]],
    9: [[_arc(0.5, 0.3, 0.28, 0.25, 0, 365) + [(0.78, 0.3), (0.72, 0.95)]],
        [_arc(0.48, 0.3, 0.27, 0.24, 10, 370) + [(0.75, 0.35), (0.55, 0.95)]]],
}


def draw_digit(label: int, rng: np.random.Generator) -> np.ndarray:
    """One digit drawn on a transparent-background canvas; returns (280, 280) uint8, ink = 255."""
    strokes = TEMPLATES[label][rng.integers(len(TEMPLATES[label]))]
    height = rng.uniform(0.35, 0.9) * CANVAS              # small to large
    width = height * rng.uniform(0.55, 0.85)
    slant, angle = rng.uniform(-0.35, 0.35), np.radians(rng.uniform(-15, 15))
    quick = rng.random() < 0.4                             # written quickly: sparse, sloppy points
    wobble = rng.uniform(0.003, 0.012) * (2.5 if quick else 1)
    cos, sin = np.cos(angle), np.sin(angle)
    shapes = []
    for stroke in strokes:
        points = np.asarray(stroke, dtype=np.float64)
        if quick and len(points) > 6:
            points = np.concatenate([points[:-1:2], points[-1:]])   # sparse, but ends where it ends
        points = points + rng.normal(0, wobble, points.shape)
        x = (points[:, 0] - 0.5) * width + (points[:, 1] - 0.5) * height * -slant
        y = (points[:, 1] - 0.5) * height
        shapes.append(np.stack([x * cos - y * sin, x * sin + y * cos], axis=1))
    every = np.concatenate(shapes)
    low, high = every.min(axis=0), every.max(axis=0)
    margin = 12
    # Anywhere on the canvas that keeps the digit inside it: often far from the centre.
    offset = [rng.uniform(margin - low[i], CANVAS - margin - high[i]) if high[i] - low[i] < CANVAS - 2 * margin
              else CANVAS / 2 for i in range(2)]
    brush = int(rng.integers(STROKE_WIDTHS[0], STROKE_WIDTHS[1] + 1))
    image = Image.new("L", (CANVAS, CANVAS), 0)
    pen = ImageDraw.Draw(image)
    for shape in shapes:
        path = [tuple(p) for p in shape + offset]
        pen.line(path, fill=255, width=brush, joint="curve")
        for x, y in (path[0], path[-1]):                   # round caps, like the canvas' brush
            pen.ellipse([x - brush / 2, y - brush / 2, x + brush / 2, y + brush / 2], fill=255)
    return np.asarray(image)


def drawn_digits(count: int = 1000, seed: int = CHOSEN_ON_SEED) -> tuple[np.ndarray, np.ndarray]:
    """`count` drawn digits, balanced over 0-9: images (count, 280, 280) uint8 and labels (count,)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 10
    images = np.stack([draw_digit(int(label), rng) for label in labels])
    return images, labels.astype(np.uint8)
