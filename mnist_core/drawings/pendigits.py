"""Real people's pen-drawn digits, drawn on the Predict page's canvas.

The data is the training part of UCI's *Pen-Based Recognition of Handwritten Digits* (E. Alpaydin,
F. Alimoglu, 1998; CC BY 4.0; data/pendigits/): the tablet trajectories of 7,494 digits by 30
writers. Its 30 writers are split once, by writer, in WRITERS: the best reader trains on 22, is
chosen on 4 (model size, epochs, mix, the withhold threshold) and is measured on 4 that nothing
was trained, tuned or chosen on. `draw` puts a digit on the 280 px canvas as a visitor would draw
it there: each pen-down stroke on its own, with the page's brush widths, at any size and place;
for training also turned, slanted, jittered and written quickly (fewer points).
"""

from __future__ import annotations

import functools
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .canvas import CANVAS, paint, random_brush

DATA_FILE = Path(__file__).resolve().parents[2] / "data" / "pendigits" / "pendigits-orig.tra.gz"

# The split, written down once (by writer number, fixed before anything was measured). No writer
# is in two parts: a test checks it.
CHOOSE_WRITERS = (4, 11, 18, 25)
HELD_OUT_WRITERS = (7, 14, 21, 28)
TRAIN_WRITERS = tuple(w for w in range(1, 31) if w not in CHOOSE_WRITERS + HELD_OUT_WRITERS)
WRITERS = {"train": TRAIN_WRITERS, "choose": CHOOSE_WRITERS, "held_out": HELD_OUT_WRITERS}
# The fixed random streams each part's digits are drawn with once (size, place, brush): the
# choose and held-out figures, and the training writers' digits that corrections replay.
PART_SEEDS = {"train": 5, "choose": 17, "held_out": 1998}

# What a visitor varies on the page: the drawing's height as a share of the canvas, its place
# (anywhere at least MARGIN px from the edge) and the brush (canvas.STROKE_WIDTHS).
HEIGHTS = (0.3, 0.92)
MARGIN = 12
# Training augmentation: how differently the same person might write the same digit.
ROTATION_DEGREES = 12
SLANT = 0.3               # horizontal shear, in widths per height
WIDTH_SCALE = (0.8, 1.25)
JITTER = 0.012            # per-point wobble, as a share of the digit's height
STROKE_SHIFT = 0.03       # each stroke put down a little elsewhere after a pen-up
QUICK = 0.4               # share written quickly: only every 2nd-4th tablet point kept


class PenDataError(ValueError):
    """The pen-digit file is missing or not in the expected format."""


@dataclass(frozen=True)
class PenDigit:
    label: int
    writer: int
    strokes: tuple            # pen-down strokes in order, each (n, 2) float64 (x, y), y pointing DOWN


def parse(text: str) -> list[PenDigit]:
    """UNIPEN-style text -> digits. A `.SEGMENT DIGIT ... "8"` starts a digit, the next `.COMMENT`'s
    second number is its writer, `.PEN_DOWN` ... `.PEN_UP` enclose one stroke of `x y` lines. The
    tablet's y points up; it is flipped here so that y points down, as on a canvas."""
    digits, label, writer, strokes, stroke = [], None, None, [], None

    def finish():
        if label is not None:
            if not strokes or writer is None:
                raise PenDataError(f"digit {label} has no strokes or no writer")
            digits.append(PenDigit(label, writer, tuple(strokes)))

    for number, line in enumerate(text.splitlines(), 1):
        words = line.split()
        if not words:
            continue
        if words[0] == ".SEGMENT" and words[1] == "DIGIT":
            finish()
            label, writer, strokes = int(words[-1].strip('"')), None, []
        elif words[0] == ".COMMENT" and label is not None and writer is None:
            writer = int(words[2])
        elif words[0] == ".PEN_DOWN":
            stroke = []
        elif words[0] == ".PEN_UP":
            if stroke:
                points = np.array(stroke, dtype=np.float64)
                points[:, 1] *= -1
                strokes.append(points)
            stroke = None
        elif stroke is not None and not words[0].startswith("."):
            if len(words) != 2:
                raise PenDataError(f"line {number}: expected 'x y', got {line!r}")
            stroke.append((int(words[0]), int(words[1])))
    finish()
    return digits


@functools.lru_cache(maxsize=2)
def load(path: Path = DATA_FILE) -> tuple[PenDigit, ...]:
    try:
        with gzip.open(path, "rt", encoding="ascii") as file:
            return tuple(parse(file.read()))
    except OSError as exc:
        raise PenDataError(f"cannot read the pen digits at {path}: {exc}") from exc


def digits(part: str) -> list[PenDigit]:
    """The digits of one part of WRITERS: "train", "choose" or "held_out"."""
    writers = set(WRITERS[part])
    return [digit for digit in load() if digit.writer in writers]


def draw(digit: PenDigit, rng: np.random.Generator, *, augment: bool = False, brush: int | None = None,
         height: float | None = None) -> np.ndarray:
    """The digit on the page's canvas, (CANVAS, CANVAS) uint8 ink 255: each stroke on its own, any
    height in HEIGHTS (or `height`, a share of the canvas), anywhere, any brush (or `brush` px).
    `augment` also turns, slants, stretches, jitters and thins it (training only; the choose and
    held-out drawings are the writers' own shapes)."""
    strokes = place(digit, rng, augment=augment, height=height)
    return paint(strokes, random_brush(rng) if brush is None else brush)


def place(digit, rng: np.random.Generator, *, augment: bool = False, height: float | None = None) -> list:
    """The digit's strokes (anything with `.strokes`, y down) where `draw` puts them on the canvas,
    in canvas pixels (the same random draws, in the same order, as `draw` before its brush)."""
    every = np.concatenate(digit.strokes)
    low, high = every.min(axis=0), every.max(axis=0)
    tall = max(float(high[1] - low[1]), 1.0)
    strokes = [(s - (low + high) / 2) / tall for s in digit.strokes]   # unit height, centred
    if augment:
        quick = rng.random() < QUICK
        step = int(rng.integers(2, 5))
        angle, slant = np.radians(rng.uniform(-ROTATION_DEGREES, ROTATION_DEGREES)), rng.uniform(-SLANT, SLANT)
        stretch = rng.uniform(*WIDTH_SCALE)
        turn = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
        moved = []
        for s in strokes:
            if quick and len(s) > 2 * step:
                s = np.concatenate([s[:-1:step], s[-1:]])   # sparse, but it ends where it ended
            s = s + rng.normal(0, JITTER, s.shape) + rng.normal(0, STROKE_SHIFT, 2)
            x, y = s[:, 0] * stretch - s[:, 1] * slant, s[:, 1]
            moved.append(np.stack([x, y], axis=1) @ turn)
        strokes = moved
    every = np.concatenate(strokes)
    extent = every.max(axis=0) - every.min(axis=0)
    scale = (rng.uniform(*HEIGHTS) if height is None else height) * CANVAS / max(float(extent[1]), 1e-6)
    scale = min(scale, (CANVAS - 2 * MARGIN) / max(float(extent.max()), 1e-6))   # stays on the canvas
    strokes = [s * scale for s in strokes]
    low, high = every.min(axis=0) * scale, every.max(axis=0) * scale
    offset = [rng.uniform(MARGIN - low[i], max(MARGIN - low[i], CANVAS - MARGIN - high[i])) for i in range(2)]
    return [s + offset for s in strokes]


def prepare(part: str, every: int = 1, start: int = 0, stop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Digits start, start + every, ... (before `stop`) of one part, each drawn once on the canvas
    with its own fixed random stream and prepared by the page's `canvas_to_mnist`: uint8
    (n, 28, 28) and labels. The same digit always gives the same image, however it is batched."""
    from mnist_core.preprocess import canvas_to_mnist
    chosen = list(enumerate(digits(part)))[start:stop:every]
    images = [np.round(canvas_to_mnist(draw(d, np.random.default_rng([PART_SEEDS[part], i]))) * 255)
              for i, d in chosen]
    return (np.stack(images).astype(np.uint8) if images else np.zeros((0, 28, 28), np.uint8),
            np.array([d.label for _, d in chosen], np.uint8))


@functools.lru_cache(maxsize=4)
def prepared(part: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All of a part's digits as `prepare` makes them, cached: uint8 (n, 28, 28), labels and
    writers, read-only. (In this process: ~15 s for 1,000 digits. A process pool broke when
    Streamlit's AppTest had run in the same process, and these sets are drawn once.)"""
    images, labels = prepare(part)
    writers = np.array([d.writer for d in digits(part)], np.uint8)
    for array in (images, labels, writers):
        array.flags.writeable = False
    return images, labels, writers
