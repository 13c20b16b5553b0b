"""Training drawings: real people's pen digits, MNIST re-stroked, and things that are not digits.

MNIST was written with pens on forms by Americans; visitors draw with a mouse, a finger or a stylus,
many in the continental way (a 1 with a flag and a base, a 7 with a crossbar, an open-top 4, a 9 with
a straight stem). `training_drawings` mixes, in the shares MIX gives: real pen-drawn digits by the
writers of the protocol's training part, from both collections (mnist_core.drawings.protocol: the pen
digits and UNIPEN, drawn on the page's canvas and augmented); MNIST digits re-stroked with other pens;
real upper-case letters of shapes no digit has, by the same part's UNIPEN writers, and generated
letters (none a digit can look like: protocol.LOOKS_LIKE_A_DIGIT), symbols and scribbles: the "not a
digit" examples a model learns to be unsure about (outlier exposure); and, at share 0 since real
writers replaced them, digits in this module's own generated styles. Every drawing is prepared as the
app prepares one (`canvas_to_mnist`).

The benchmark's held-out hand (bench/heldout.py) draws its non-digits with code of its own, and measures
digits and letters on writers and a site this module never sees (protocol's "held_out" part).
"""

from __future__ import annotations

import numpy as np

from .canvas import CANVAS, paint, random_brush
from mnist_core.preprocess import NOT_A_DIGIT, _centre_by_mass, canvas_to_mnist, centre_line_of, draw_centre_line

MNIST_PEN_WIDTHS = (1.8, 4.0)   # re-stroked MNIST digits: MNIST's own 10th-90th percentile, widened
# The mix, in twentieths of the drawings: mostly real pen digits (what MNIST lacks), enough
# non-digits and re-stroked MNIST to keep refusing scribbles and reading any pen. Real pen digits
# replaced the generated digit styles: issue #17 measured that those did not raise accuracy on real
# writers (93.6 / 94.7 % with them, 93.8 / 96.2 % without), so they are at share 0. Issue #29 added
# the second collection's digits to "pen" and its real letters as "letters" (taken from "not_a_digit").
MIX = {"pen": 12, "restroked": 2, "letters": 2, "not_a_digit": 4, "generated": 0}
PATTERN = [kind for kind, twentieths in MIX.items() for _ in range(twentieths)]
# Training and validation drawings come from separate random streams (SeedSequence([purpose, seed])),
# so a run's seed can never make its validation drawings equal its training ones.
PURPOSES = {"train": 0, "validation": 1}


def arc(cx, cy, rx, ry, start, end, n=16):
    """Points on an ellipse from angle `start` to `end` (degrees; 0 is right, 90 is down)."""
    angles = np.radians(np.linspace(start, end, n))
    return list(zip(cx + rx * np.cos(angles), cy + ry * np.sin(angles)))


# Each digit, several ways: a list of strokes, each a list of (x, y) in a unit box (y down).
DIGITS = {
    0: [[arc(0.5, 0.5, 0.36, 0.48, -80, 290)],
        [arc(0.52, 0.5, 0.3, 0.47, -120, 250)],
        [arc(0.5, 0.5, 0.4, 0.44, 260, -90)]],                       # anticlockwise
    1: [[[(0.52, 0.0), (0.48, 1.0)]],
        [[(0.25, 0.3), (0.6, 0.0), (0.6, 1.0)]],                       # flag
        [[(0.22, 0.28), (0.58, 0.0), (0.58, 1.0)], [(0.25, 1.0), (0.9, 1.0)]],   # flag and base
        [[(0.3, 0.22), (0.62, 0.0), (0.5, 1.0)]]],                     # flag, slanted stem
    2: [[arc(0.5, 0.28, 0.36, 0.28, 190, 380) + [(0.1, 1.0), (0.95, 1.0)]],
        [arc(0.5, 0.28, 0.36, 0.28, 200, 375) + [(0.15, 0.95)] + arc(0.3, 0.88, 0.12, 0.1, 270, 90)[4:]
         + [(0.95, 0.98)]],                                            # a loop at its foot
        [[(0.12, 0.1), (0.85, 0.05), (0.1, 1.0), (0.92, 1.0)]]],       # angular, Z-like
    3: [[arc(0.48, 0.26, 0.34, 0.25, 190, 440) + arc(0.48, 0.74, 0.38, 0.26, -90, 150)],
        [[(0.15, 0.02), (0.85, 0.02), (0.4, 0.42)] + arc(0.48, 0.72, 0.38, 0.28, -80, 150)],
        [arc(0.5, 0.25, 0.3, 0.24, 180, 450), arc(0.5, 0.73, 0.36, 0.26, -90, 160)]],
    4: [[[(0.65, 0.0), (0.08, 0.68), (0.95, 0.68)], [(0.68, 0.25), (0.68, 1.0)]],   # closed
        [[(0.25, 0.0), (0.12, 0.6), (0.9, 0.6)], [(0.72, 0.0), (0.68, 1.0)]],       # open top
        [[(0.3, 0.0), (0.15, 0.58), (0.78, 0.58), (0.78, 0.0), (0.76, 1.0)]],       # one stroke
        [[(0.62, 0.0), (0.1, 0.65), (0.95, 0.62)], [(0.7, 0.35), (0.62, 1.0)]]],
    5: [[[(0.85, 0.0), (0.3, 0.0), (0.22, 0.45)] + arc(0.48, 0.7, 0.36, 0.3, -140, 150)],
        [[(0.28, 0.0), (0.22, 0.45)] + arc(0.5, 0.7, 0.34, 0.28, -150, 145), [(0.28, 0.0), (0.9, 0.0)]],
        [[(0.88, 0.05), (0.3, 0.02), (0.25, 0.4), (0.55, 0.35), (0.85, 0.55), (0.82, 0.85),
          (0.45, 1.0), (0.12, 0.88)]]],                                # angular, one stroke
    6: [[[(0.75, 0.0), (0.3, 0.45)] + arc(0.5, 0.72, 0.3, 0.28, 180, 540)],
        [arc(0.75, 0.55, 0.58, 0.55, -95, -180, 10) + arc(0.5, 0.72, 0.32, 0.28, 180, 530)],
        [[(0.55, 0.0), (0.25, 0.6)] + arc(0.5, 0.75, 0.28, 0.25, 200, 560)]],
    7: [[[(0.08, 0.0), (0.92, 0.0), (0.38, 1.0)]],
        [[(0.08, 0.0), (0.92, 0.0), (0.38, 1.0)], [(0.3, 0.5), (0.8, 0.5)]],       # crossbar
        [[(0.1, 0.2), (0.12, 0.0), (0.9, 0.02), (0.5, 1.0)]],                       # serif
        [[(0.1, 0.18), (0.1, 0.0), (0.9, 0.0), (0.45, 1.0)], [(0.3, 0.52), (0.85, 0.5)]],
        [[(0.05, 0.05), (0.9, 0.0), (0.62, 0.5), (0.52, 1.0)]]],                    # curved stem
    8: [[arc(0.5, 0.25, 0.3, 0.25, 0, -180) + arc(0.5, 0.73, 0.36, 0.27, -90, 270)
         + arc(0.5, 0.25, 0.3, 0.25, 180, 0)],
        [arc(0.5, 0.26, 0.28, 0.25, 0, 360), arc(0.5, 0.74, 0.34, 0.26, -90, 270)],
        [arc(0.6, 0.25, 0.28, 0.24, -30, -200) + [(0.7, 0.72)] + arc(0.5, 0.78, 0.3, 0.22, 0, 180)
         + [(0.62, 0.2)]]],
    9: [[arc(0.48, 0.3, 0.34, 0.3, 10, 370) + [(0.82, 0.3), (0.8, 1.0)]],           # straight stem
        [arc(0.48, 0.3, 0.32, 0.28, 0, 360) + [(0.8, 0.32), (0.55, 1.0)]],
        [arc(0.5, 0.28, 0.32, 0.28, -20, 345) + [(0.82, 0.35)] + arc(0.55, 0.75, 0.27, 0.25, 0, 140)],
        [arc(0.45, 0.3, 0.32, 0.28, 20, 380), [(0.78, 0.05), (0.76, 1.0)]]],       # two strokes
}


def _letters() -> dict:
    """Capital letters and symbols that no reader would take for a digit. (O, I, l, Z, S, B, G,
    q, g look like digits, so they are not here.)"""
    return {
        "A": [[(0.0, 1.0), (0.5, 0.0), (1.0, 1.0)], [(0.22, 0.6), (0.78, 0.6)]],
        "C": [arc(0.55, 0.5, 0.45, 0.5, -50, -310)],
        "E": [[(0.9, 0.0), (0.1, 0.0), (0.1, 1.0), (0.9, 1.0)], [(0.1, 0.5), (0.7, 0.5)]],
        "F": [[(0.9, 0.0), (0.1, 0.0), (0.1, 1.0)], [(0.1, 0.48), (0.7, 0.48)]],
        "H": [[(0.1, 0.0), (0.1, 1.0)], [(0.9, 0.0), (0.9, 1.0)], [(0.1, 0.5), (0.9, 0.5)]],
        "K": [[(0.15, 0.0), (0.15, 1.0)], [(0.85, 0.0), (0.15, 0.55), (0.9, 1.0)]],
        "M": [[(0.0, 1.0), (0.08, 0.0), (0.5, 0.7), (0.92, 0.0), (1.0, 1.0)]],
        "N": [[(0.1, 1.0), (0.1, 0.0), (0.9, 1.0), (0.9, 0.0)]],
        "P": [[(0.15, 1.0), (0.15, 0.0)] + arc(0.15, 0.27, 0.7, 0.27, -90, 90)],
        "R": [[(0.15, 1.0), (0.15, 0.0)] + arc(0.15, 0.27, 0.65, 0.27, -90, 90) + [(0.9, 1.0)]],
        "U": [[(0.1, 0.0)] + arc(0.5, 0.6, 0.4, 0.4, 180, 0) + [(0.9, 0.0)]],
        "V": [[(0.0, 0.0), (0.5, 1.0), (1.0, 0.0)]],
        "W": [[(0.0, 0.0), (0.25, 1.0), (0.5, 0.35), (0.75, 1.0), (1.0, 0.0)]],
        "X": [[(0.0, 0.0), (1.0, 1.0)], [(1.0, 0.0), (0.0, 1.0)]],
        "Y": [[(0.0, 0.0), (0.5, 0.5), (1.0, 0.0)], [(0.5, 0.5), (0.5, 1.0)]],
        "k": [[(0.2, 0.0), (0.2, 1.0)], [(0.8, 0.4), (0.2, 0.72), (0.85, 1.0)]],
        "m": [[(0.0, 1.0), (0.0, 0.3)] + arc(0.25, 0.45, 0.25, 0.2, 180, 360) + [(0.5, 1.0)],
              [(0.5, 0.45)] + arc(0.75, 0.45, 0.25, 0.2, 180, 360) + [(1.0, 1.0)]],
        "#": [[(0.3, 0.0), (0.2, 1.0)], [(0.75, 0.0), (0.65, 1.0)], [(0.0, 0.32), (1.0, 0.32)],
              [(0.0, 0.68), (1.0, 0.68)]],
        "+": [[(0.5, 0.0), (0.5, 1.0)], [(0.0, 0.5), (1.0, 0.5)]],
        "*": [[(0.5, 0.0), (0.5, 1.0)], [(0.07, 0.25), (0.93, 0.75)], [(0.93, 0.25), (0.07, 0.75)]],
        "star": [[(0.5, 0.0), (0.79, 0.95), (0.02, 0.35), (0.98, 0.35), (0.21, 0.95), (0.5, 0.0)]],
        "arrow": [[(0.0, 0.5), (1.0, 0.5)], [(0.65, 0.15), (1.0, 0.5), (0.65, 0.85)]],
        "triangle": [[(0.5, 0.0), (1.0, 0.9), (0.0, 0.9), (0.5, 0.0)]],
        "square": [[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)]],
        "smiley": [arc(0.5, 0.5, 0.5, 0.5, 0, 360, 24), [(0.33, 0.33), (0.34, 0.38)],
                   [(0.66, 0.33), (0.67, 0.38)], arc(0.5, 0.52, 0.28, 0.25, 20, 160)],
        "heart": [[(0.5, 1.0), (0.05, 0.45)] + arc(0.27, 0.28, 0.24, 0.24, 150, 360)
                  + arc(0.73, 0.28, 0.24, 0.24, 180, 390) + [(0.5, 1.0)]],
        "check": [[(0.0, 0.55), (0.35, 1.0), (1.0, 0.0)]],
        "equals": [[(0.0, 0.35), (1.0, 0.35)], [(0.0, 0.7), (1.0, 0.7)]],
        "percent": [arc(0.2, 0.18, 0.17, 0.17, 0, 360), [(0.9, 0.0), (0.1, 1.0)],
                    arc(0.8, 0.82, 0.17, 0.17, 0, 360)],
        "question": [arc(0.5, 0.27, 0.35, 0.27, 190, 430) + [(0.5, 0.7)], [(0.5, 0.93), (0.5, 0.97)]],
        "at": [arc(0.55, 0.52, 0.2, 0.2, 0, 360) + [(0.76, 0.75)] + arc(0.5, 0.5, 0.48, 0.48, 40, 350)],
    }


LETTERS = _letters()


def scribble(rng: np.random.Generator) -> list:
    """Ink that is no character: a zigzag, wave, spiral, tangle, polygon, star, or a shape with
    marks in and around it (a face, a sun, a house are such compositions)."""
    kind = rng.integers(7)
    if kind == 0:      # a zigzag of 3-8 teeth
        teeth = int(rng.integers(3, 9))
        xs = np.linspace(0, 1, teeth + 1)
        return [[(x, float(i % 2)) for i, x in enumerate(xs)]]
    if kind == 1:      # a wave
        xs = np.linspace(0, 1, 30)
        waves = rng.uniform(1.5, 4)
        return [[(x, 0.5 + 0.5 * np.sin(2 * np.pi * waves * x)) for x in xs]]
    if kind == 2:      # a spiral
        turns = rng.uniform(1.5, 3.5)
        angles = np.linspace(0, 2 * np.pi * turns, 60)
        radius = np.linspace(0.05, 0.5, 60)
        return [list(zip(0.5 + radius * np.cos(angles), 0.5 + radius * np.sin(angles)))]
    if kind == 3:      # a tangle of random strokes
        points = rng.uniform(0, 1, (int(rng.integers(5, 14)), 2))
        return [[tuple(p) for p in points]]
    if kind in (4, 5):  # a polygon of 3-5 corners (more look like a 0), or a 5-8 pointed star
        corners = int(rng.integers(3, 6)) if kind == 4 else int(rng.integers(5, 9))
        step = 1 if kind == 4 else (corners - 1) // 2
        angles = rng.uniform(0, 2 * np.pi) + 2 * np.pi * step * np.arange(corners + 1) / corners
        radius = rng.uniform(0.35, 0.5, corners + 1)
        radius[-1] = radius[0]
        return [list(zip(0.5 + radius * np.cos(angles), 0.5 + radius * np.sin(angles)))]
    outline = arc(0.5, 0.5, 0.3, 0.3, 0, 360, 20) if rng.random() < 0.5 else scribble_polygon(rng)
    marks = []
    for _ in range(int(rng.integers(2, 9))):    # short marks inside and around it
        start = rng.uniform(0, 1, 2)
        marks.append([tuple(start), tuple(np.clip(start + rng.normal(0, 0.15, 2), 0, 1))])
    return [outline] + marks


def scribble_polygon(rng: np.random.Generator) -> list:
    corners = int(rng.integers(3, 6))
    angles = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(corners + 1) / corners
    return list(zip(0.5 + 0.3 * np.cos(angles), 0.5 + 0.3 * np.sin(angles)))


def draw(strokes: list, rng: np.random.Generator, *, aspect=(0.5, 0.9)) -> np.ndarray:
    """Strokes in a unit box drawn on the Predict page's canvas as a visitor would: anywhere, any
    size, slanted, turned, wobbly, with a round brush of the page's widths. (280, 280) uint8."""
    height = rng.uniform(0.3, 0.92) * CANVAS
    width = height * rng.uniform(*aspect)
    slant, angle = rng.uniform(-0.4, 0.4), np.radians(rng.uniform(-18, 18))
    wobble = rng.uniform(0.0, 0.025)
    cos, sin = np.cos(angle), np.sin(angle)
    shapes = []
    for stroke in strokes:
        points = np.asarray(stroke, dtype=np.float64)
        points = points + rng.normal(0, wobble, points.shape) + rng.normal(0, 0.04, 2)
        x = (points[:, 0] - 0.5) * width - (points[:, 1] - 0.5) * height * slant
        y = (points[:, 1] - 0.5) * height
        shapes.append(np.stack([x * cos - y * sin, x * sin + y * cos], axis=1))
    every = np.concatenate(shapes)
    low, high = every.min(axis=0), every.max(axis=0)
    scale = min(1.0, (CANVAS - 24) / max(float((high - low).max()), 1.0))   # keep it on the canvas
    shapes = [shape * scale for shape in shapes]
    low, high = low * scale, high * scale
    offset = [rng.uniform(12 - low[i], max(12 - low[i], CANVAS - 12 - high[i])) for i in range(2)]
    brush = random_brush(rng)
    return paint([shape + offset for shape in shapes], brush)


def drawn_digit(label: int, rng: np.random.Generator) -> np.ndarray:
    styles = DIGITS[label]
    aspect = (0.2, 0.5) if label == 1 else (0.5, 0.9)
    return draw(styles[rng.integers(len(styles))], rng, aspect=aspect)


def not_a_digit(rng: np.random.Generator) -> np.ndarray:
    """A letter, symbol or scribble, prepared as the app prepares a drawing: (28, 28) float32."""
    while True:
        if rng.random() < 0.45:
            strokes = scribble(rng)
        else:
            names = sorted(LETTERS)
            strokes = LETTERS[names[rng.integers(len(names))]]
        image = canvas_to_mnist(draw(strokes, rng, aspect=(0.4, 1.2)))
        if not _line_like(image):    # a scribble squashed into a stroke is a 1, not a non-digit
            return image


def _line_like(image: np.ndarray) -> bool:
    """Whether the ink lies along one straight line (its minor axis < 15 % of its major one)."""
    ys, xs = np.nonzero(image > 0.3)
    if len(ys) < 3:
        return True
    spread = np.linalg.eigvalsh(np.cov(np.stack([ys, xs]).astype(np.float64)))
    return bool(np.sqrt(max(spread[0], 0) / max(spread[1], 1e-9)) < 0.15)


def restroke(image: np.ndarray, pen_width: float) -> np.ndarray:
    """An MNIST digit (uint8 28x28) thinned to its centre line and redrawn with another pen, as
    a 28x28 uint8: the same digit as if written with a ballpoint or a marker."""
    line, _ = centre_line_of(image.astype(np.float32) / 255)
    if line is None:
        return image
    return np.round(_centre_by_mass(draw_centre_line(line, pen_width)) * 255).astype(np.uint8)


CHUNK = 2000    # drawings per worker task; each chunk has its own random stream


def training_drawings(count: int, seed: int, mnist_images: np.ndarray, mnist_labels: np.ndarray,
                      purpose: str = "train", parts: tuple = ("train",)) -> tuple[np.ndarray, np.ndarray]:
    """`count` extra training images (uint8 28x28, as the app prepares them) and their labels, in
    the shares of MIX (non-digits labelled NOT_A_DIGIT). Real pen digits and letters come from the
    protocol's `parts` only: "train", unless the bundled reader is retrained on train + choose once
    every choice is made (mnist_core.runs.bundle). Drawn on every core; the result depends on
    the seed and parts alone."""
    if not set(parts) <= {"train", "choose"}:
        raise ValueError(f"drawings are trained on the train and choose parts only, not {parts}")
    from .canvas import in_parallel
    tasks = []
    for start in range(0, count, CHUNK):
        key = [PURPOSES[purpose], seed, start]
        size = min(CHUNK, count - start)
        # The MNIST digits this chunk re-strokes are picked here, so a worker gets ~700, not 60,000.
        chosen = np.random.default_rng(key + [1]).integers(len(mnist_images), size=size)
        tasks.append((size, key, mnist_images[chosen], mnist_labels[chosen], tuple(parts)))
    parts = in_parallel(_chunk, tasks)
    if not parts:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _chunk(count, key, mnist_images, mnist_labels, parts=("train",)):
    from . import pendigits, protocol
    rng = np.random.default_rng(key)
    written = {kind: [w for part in parts for w in protocol.written(part, kind)] if MIX[share] else []
               for kind, share in (("digits", "pen"), ("letters", "letters"))}
    images, labels = [], []
    for i in range(count):
        kind = PATTERN[i % len(PATTERN)]
        if kind in ("pen", "letters"):
            real = written["digits" if kind == "pen" else "letters"]
            sample = real[rng.integers(len(real))]
            label = sample.label if kind == "pen" else NOT_A_DIGIT
            image = np.round(canvas_to_mnist(pendigits.draw(sample, rng, augment=True)) * 255).astype(np.uint8)
        elif kind == "generated":
            label = int(rng.integers(10))
            image = np.round(canvas_to_mnist(drawn_digit(label, rng)) * 255).astype(np.uint8)
        elif kind == "restroked":
            label = int(mnist_labels[i])
            image = restroke(mnist_images[i], rng.uniform(*MNIST_PEN_WIDTHS))
        else:
            label = NOT_A_DIGIT
            image = np.round(not_a_digit(rng) * 255).astype(np.uint8)
        images.append(image)
        labels.append(label)
    return np.stack(images), np.asarray(labels, np.uint8)
