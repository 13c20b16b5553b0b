"""A held-out drawing set that is not MNIST: digits, and things that are not digits, drawn as
strokes on the app's canvas by a "writer" of its own.

Each drawing is one of hand-made stroke templates (pen trajectories in a unit box), randomly sized,
placed off-centre, slanted, rotated, wobbled and "written quickly" (fewer, sloppier points), then
drawn on a 280x280 canvas with a round brush of 8-32 px, the range of the Predict page's stroke
slider. These templates and this way of writing were written apart from mnist_core.strokes (the
training writer) and are never used in training, in choosing a threshold, or in choosing a model:
they are the held-out writer. MNIST test accuracy alone does not show how a model reads drawings;
this set does.
"""

from __future__ import annotations

import numpy as np

from mnist_core.preprocess import STROKE_WIDTHS
from mnist_core.strokes import paint

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
        [[(0.3, 0.05), (0.2, 0.55), (0.8, 0.55)], [(0.72, 0.05), (0.72, 0.95)]],
        [[(0.28, 0.05), (0.22, 0.5), (0.75, 0.52), (0.78, 0.1), (0.74, 0.95)]]],   # open, one stroke
    5: [[[(0.78, 0.05), (0.28, 0.05), (0.22, 0.45)] + _arc(0.48, 0.68, 0.32, 0.27, -130, 150)],
        [[(0.3, 0.05), (0.25, 0.45)] + _arc(0.5, 0.68, 0.3, 0.26, -140, 150), [(0.3, 0.05), (0.8, 0.05)]]],
    6: [[[(0.7, 0.05), (0.35, 0.4)] + _arc(0.5, 0.7, 0.28, 0.25, 180, 540)],
        [_arc(0.65, 0.45, 0.45, 0.42, -80, -180, 12) + _arc(0.5, 0.72, 0.28, 0.23, 180, 530)]],
    7: [[[(0.15, 0.08), (0.85, 0.08), (0.4, 0.95)]],
        [[(0.15, 0.08), (0.85, 0.08), (0.4, 0.95)], [(0.35, 0.5), (0.75, 0.5)]],
        [[(0.2, 0.15), (0.2, 0.05), (0.8, 0.05), (0.5, 0.95)]],
        [[(0.2, 0.18), (0.22, 0.05), (0.82, 0.06), (0.6, 0.5), (0.45, 0.95)], [(0.4, 0.5), (0.8, 0.48)]]],
    8: [[_arc(0.5, 0.27, 0.25, 0.22, 90, -270) + _arc(0.5, 0.72, 0.3, 0.24, -90, 270)],
        [_arc(0.5, 0.28, 0.22, 0.22, 0, 360) + _arc(0.5, 0.72, 0.28, 0.24, -90, 270)]],
    9: [[_arc(0.5, 0.3, 0.28, 0.25, 0, 365) + [(0.78, 0.3), (0.72, 0.95)]],
        [_arc(0.48, 0.3, 0.27, 0.24, 10, 370) + [(0.75, 0.35), (0.55, 0.95)]],
        [_arc(0.45, 0.28, 0.28, 0.23, -10, 350), [(0.74, 0.1), (0.74, 0.95)]]],   # straight stem
}


# Things that are not digits, as this writer draws them: the kinds a visitor tries first.
NON_DIGITS = {
    "A": [[(0.05, 0.95), (0.45, 0.05), (0.55, 0.05), (0.95, 0.95)], [(0.25, 0.55), (0.75, 0.58)]],
    "E": [[(0.85, 0.05), (0.15, 0.05), (0.15, 0.95), (0.85, 0.95)], [(0.15, 0.5), (0.6, 0.5)]],
    "F": [[(0.15, 0.95), (0.15, 0.05), (0.85, 0.05)], [(0.15, 0.45), (0.65, 0.45)]],
    "H": [[(0.15, 0.05), (0.18, 0.95)], [(0.82, 0.05), (0.85, 0.95)], [(0.17, 0.52), (0.84, 0.48)]],
    "K": [[(0.2, 0.05), (0.2, 0.95)], [(0.8, 0.05), (0.22, 0.5), (0.85, 0.95)]],
    "M": [[(0.08, 0.95), (0.15, 0.05), (0.5, 0.6)], [(0.5, 0.6), (0.85, 0.05), (0.92, 0.95)]],
    "R": [[(0.2, 0.95), (0.2, 0.05)] + _arc(0.3, 0.28, 0.45, 0.23, -90, 90) + [(0.85, 0.95)]],
    "W": [[(0.05, 0.05), (0.28, 0.95), (0.5, 0.3), (0.72, 0.95), (0.95, 0.05)]],
    "X": [[(0.1, 0.05), (0.9, 0.95)], [(0.9, 0.05), (0.1, 0.95)]],
    "#": [[(0.35, 0.05), (0.3, 0.95)], [(0.7, 0.05), (0.65, 0.95)], [(0.08, 0.35), (0.92, 0.35)],
          [(0.08, 0.65), (0.92, 0.65)]],
    "+": [[(0.5, 0.1), (0.5, 0.9)], [(0.1, 0.5), (0.9, 0.5)]],
    "star": [[(0.5, 0.05), (0.62, 0.38), (0.95, 0.4), (0.68, 0.6), (0.8, 0.95), (0.5, 0.73),
              (0.2, 0.95), (0.32, 0.6), (0.05, 0.4), (0.38, 0.38), (0.5, 0.05)]],
    "arrow": [[(0.5, 0.95), (0.5, 0.05)], [(0.15, 0.4), (0.5, 0.05), (0.85, 0.4)]],
    "zigzag": [[(0.05, 0.3), (0.25, 0.7), (0.45, 0.3), (0.65, 0.7), (0.85, 0.3), (0.95, 0.6)]],
    "smiley": [_arc(0.5, 0.5, 0.45, 0.45, -90, 270), [(0.35, 0.35), (0.36, 0.4)],
               [(0.65, 0.35), (0.66, 0.4)], _arc(0.5, 0.55, 0.25, 0.2, 10, 170)],
    "triangle": [[(0.1, 0.9), (0.9, 0.9)], [(0.9, 0.9), (0.5, 0.1)], [(0.5, 0.1), (0.1, 0.9)]],
    "house": [[(0.15, 0.45), (0.15, 0.95), (0.85, 0.95), (0.85, 0.45)], [(0.05, 0.5), (0.5, 0.05),
                                                                         (0.95, 0.5)]],
    "sun": [_arc(0.5, 0.5, 0.22, 0.22, 0, 360), [(0.5, 0.0), (0.5, 0.18)], [(0.5, 0.82), (0.5, 1.0)],
            [(0.0, 0.5), (0.18, 0.5)], [(0.82, 0.5), (1.0, 0.5)]],
}


def _placed(strokes, rng, height, width, brush) -> np.ndarray:
    """This writer's hand: slanted, turned, wobbly, maybe quick; anywhere on the canvas."""
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
    # Anywhere on the canvas that keeps the drawing inside it: often far from the centre.
    offset = [rng.uniform(margin - low[i], CANVAS - margin - high[i]) if high[i] - low[i] < CANVAS - 2 * margin
              else CANVAS / 2 for i in range(2)]
    return paint([shape + offset for shape in shapes], brush)


def draw_digit(label: int, rng: np.random.Generator, *, brush: int | None = None,
               size: float | None = None) -> np.ndarray:
    """One digit drawn on a transparent-background canvas; returns (280, 280) uint8, ink = 255.
    `brush` (px) and `size` (its height as a share of the canvas) are random unless given."""
    strokes = TEMPLATES[label][rng.integers(len(TEMPLATES[label]))]
    height = (rng.uniform(0.35, 0.9) if size is None else size) * CANVAS     # small to large
    width = height * rng.uniform(0.55, 0.85)
    brush = int(rng.integers(STROKE_WIDTHS[0], STROKE_WIDTHS[1] + 1)) if brush is None else brush
    return _placed(strokes, rng, height, width, brush)


def drawn_digits(count: int = 1000, seed: int = CHOSEN_ON_SEED) -> tuple[np.ndarray, np.ndarray]:
    """`count` drawn digits, balanced over 0-9: images (count, 280, 280) uint8 and labels (count,)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 10
    images = np.stack([draw_digit(int(label), rng) for label in labels])
    return images, labels.astype(np.uint8)


def drawn_non_digits(count: int = 500, seed: int = HELD_OUT_SEED) -> tuple[np.ndarray, list[str]]:
    """`count` drawings of NON_DIGITS, balanced over the kinds: images and what each shows."""
    rng = np.random.default_rng(seed)
    names = sorted(NON_DIGITS)
    kinds = [names[i % len(names)] for i in range(count)]
    images = []
    for kind in kinds:
        height = rng.uniform(0.35, 0.9) * CANVAS
        width = height * rng.uniform(0.7, 1.1)
        brush = int(rng.integers(STROKE_WIDTHS[0], STROKE_WIDTHS[1] + 1))
        images.append(_placed(NON_DIGITS[kind], rng, height, width, brush))
    return np.stack(images), kinds


def invariance_set(count: int = 200, seed: int = HELD_OUT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """The same digits drawn four ways: (count, 4, 280, 280) for (thin small, thin large, thick
    small, thick large), with the stroke path, slant and place the same within each row."""
    labels = np.arange(count) % 10
    rows = []
    for index, label in enumerate(labels):
        row = []
        for brush in STROKE_WIDTHS:
            for size in (0.35, 0.85):
                # One random stream per digit: the same path, slant and wobble in all four.
                row.append(draw_digit(int(label), np.random.default_rng([seed, index]), brush=brush,
                                      size=size))
        rows.append(np.stack(row))
    return np.stack(rows), labels.astype(np.uint8)
