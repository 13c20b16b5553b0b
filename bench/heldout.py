"""What the best reader is measured on and never trained, tuned or chosen on.

Digits: the held-out writers' real pen digits (pendigits.HELD_OUT_WRITERS), each drawn once on the
page's canvas (`pendigits.prepared("held_out")`), and the same digits drawn four ways (thin or thick
brush, small or large) by `four_ways`. Not digits: letters, symbols and shapes drawn by this
module's own hand (`non_digits`), written apart from the training writer (mnist_core/drawings/strokes.py):
nothing here is imported from it, and it never imports this module (a test checks both).
"""

from __future__ import annotations

import numpy as np

from mnist_core.drawings import pendigits
from mnist_core.drawings.canvas import CANVAS, STROKE_WIDTHS, paint, random_brush

HELD_OUT_SEED = 90210   # the benchmark's stream; tests draw with other seeds


def _oval(centre, radii, degrees, n=24):
    """Points round an oval, `degrees` = (from, to), 0 pointing right and 90 down."""
    turn = np.radians(np.linspace(*degrees, n))
    return [(centre[0] + radii[0] * c, centre[1] + radii[1] * s) for c, s in zip(np.cos(turn), np.sin(turn))]


# Things that are not digits, as this hand draws them (x right, y down, in a unit box): the kinds
# a visitor tries first, and a house and a sun, which the training writer never draws.
NON_DIGITS = {
    "A": [[(0.05, 0.95), (0.45, 0.05), (0.55, 0.05), (0.95, 0.95)], [(0.25, 0.55), (0.75, 0.58)]],
    "E": [[(0.85, 0.05), (0.15, 0.05), (0.15, 0.95), (0.85, 0.95)], [(0.15, 0.5), (0.6, 0.5)]],
    "F": [[(0.15, 0.95), (0.15, 0.05), (0.85, 0.05)], [(0.15, 0.45), (0.65, 0.45)]],
    "H": [[(0.15, 0.05), (0.18, 0.95)], [(0.82, 0.05), (0.85, 0.95)], [(0.17, 0.52), (0.84, 0.48)]],
    "K": [[(0.2, 0.05), (0.2, 0.95)], [(0.8, 0.05), (0.22, 0.5), (0.85, 0.95)]],
    "M": [[(0.08, 0.95), (0.15, 0.05), (0.5, 0.6)], [(0.5, 0.6), (0.85, 0.05), (0.92, 0.95)]],
    "R": [[(0.2, 0.95), (0.2, 0.05)] + _oval((0.3, 0.28), (0.45, 0.23), (-90, 90)) + [(0.85, 0.95)]],
    "W": [[(0.05, 0.05), (0.28, 0.95), (0.5, 0.3), (0.72, 0.95), (0.95, 0.05)]],
    "X": [[(0.1, 0.05), (0.9, 0.95)], [(0.9, 0.05), (0.1, 0.95)]],
    "#": [[(0.35, 0.05), (0.3, 0.95)], [(0.7, 0.05), (0.65, 0.95)], [(0.08, 0.35), (0.92, 0.35)],
          [(0.08, 0.65), (0.92, 0.65)]],
    "+": [[(0.5, 0.1), (0.5, 0.9)], [(0.1, 0.5), (0.9, 0.5)]],
    "star": [[(0.5, 0.05), (0.62, 0.38), (0.95, 0.4), (0.68, 0.6), (0.8, 0.95), (0.5, 0.73),
              (0.2, 0.95), (0.32, 0.6), (0.05, 0.4), (0.38, 0.38), (0.5, 0.05)]],
    "arrow": [[(0.5, 0.95), (0.5, 0.05)], [(0.15, 0.4), (0.5, 0.05), (0.85, 0.4)]],
    "zigzag": [[(0.05, 0.3), (0.25, 0.7), (0.45, 0.3), (0.65, 0.7), (0.85, 0.3), (0.95, 0.6)]],
    "smiley": [_oval((0.5, 0.5), (0.45, 0.45), (-90, 270)), [(0.35, 0.35), (0.36, 0.4)],
               [(0.65, 0.35), (0.66, 0.4)], _oval((0.5, 0.55), (0.25, 0.2), (10, 170))],
    "triangle": [[(0.1, 0.9), (0.9, 0.9)], [(0.9, 0.9), (0.5, 0.1)], [(0.5, 0.1), (0.1, 0.9)]],
    "house": [[(0.15, 0.45), (0.15, 0.95), (0.85, 0.95), (0.85, 0.45)], [(0.05, 0.5), (0.5, 0.05),
                                                                         (0.95, 0.5)]],
    "sun": [_oval((0.5, 0.5), (0.22, 0.22), (0, 360)), [(0.5, 0.0), (0.5, 0.18)], [(0.5, 0.82), (0.5, 1.0)],
            [(0.0, 0.5), (0.18, 0.5)], [(0.82, 0.5), (1.0, 0.5)]],
}


def _placed(strokes, rng, height, width) -> list:
    """This hand: slanted, turned, wobbly, maybe quick; anywhere on the canvas (strokes in canvas px)."""
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
    offset = [rng.uniform(margin - low[i], CANVAS - margin - high[i]) if high[i] - low[i] < CANVAS - 2 * margin
              else CANVAS / 2 for i in range(2)]
    return [shape + offset for shape in shapes]


def non_digit_strokes(count: int = 500, seed: int = HELD_OUT_SEED) -> tuple[list, list[int], list[str]]:
    """`count` drawings of NON_DIGITS, balanced over the kinds, as the pen drew them: their strokes
    (canvas pixels, in order), brushes and kinds."""
    rng = np.random.default_rng(seed)
    names = sorted(NON_DIGITS)
    kinds = [names[i % len(names)] for i in range(count)]
    drawings, brushes = [], []
    for kind in kinds:
        height = rng.uniform(0.35, 0.9) * CANVAS
        width = height * rng.uniform(0.7, 1.1)
        brushes.append(random_brush(rng))
        drawings.append(_placed(NON_DIGITS[kind], rng, height, width))
    return drawings, brushes, kinds


def non_digits(count: int = 500, seed: int = HELD_OUT_SEED) -> tuple[np.ndarray, list[str]]:
    """`count` canvases of NON_DIGITS, balanced over the kinds: (count, 280, 280) uint8 and kinds."""
    drawings, brushes, kinds = non_digit_strokes(count, seed)
    return np.stack([paint(shapes, brush) for shapes, brush in zip(drawings, brushes)]), kinds


WAYS = ("thin small", "thin large", "thick small", "thick large")


def four_ways(count: int = 200, seed: int = HELD_OUT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """`count` held-out writers' digits (balanced over 0-9), each drawn the four WAYS:
    (count, 4, 280, 280) uint8, placed the same within a row; and their labels."""
    rng = np.random.default_rng(seed)
    every = pendigits.digits("held_out")
    by_label = [[d for d in every if d.label == label] for label in range(10)]
    rows, labels = [], np.arange(count) % 10
    for index, label in enumerate(labels):
        digit = by_label[label][rng.integers(len(by_label[label]))]
        rows.append(np.stack([pendigits.draw(digit, np.random.default_rng([seed, index]), brush=brush, height=size)
                              for brush in STROKE_WIDTHS for size in (0.35, 0.85)]))
    return np.stack(rows), labels.astype(np.uint8)
