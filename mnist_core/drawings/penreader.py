"""The pen reader: a small 1-D convolutional network over the pen's trajectory (pen.features), and
how its answer joins the image reader's.

It learns from real trajectories of the protocol's parts (both collections' digits; UNIPEN's letters
of shapes no digit has, and generated letters, symbols and scribbles, as "not a digit": trained towards
every digit equally likely, as the image reader is) drawn as a visitor would on the page's canvas:
placed anywhere at any size, turned, slanted, stretched, jittered, written quickly or slowly (fewer or
more points), strokes reversed or written in another order, and smoothed into the canvas' own curves.

A 1-D convolution is a Conv2D with a (k, 1) window over a (POINTS, 1, FEATURES) input: the file holds
only layers the model-file allow-list accepts, and its input has MNIST's flat shape (784).
`combine` joins the two readers' probabilities; `choose_combiner` picks its weight and the withhold
threshold on the choose part.
"""

from __future__ import annotations

import numpy as np

from . import pen, pendigits, protocol, strokes
from .canvas import CANVAS

REVERSE = 0.2          # share of strokes written the other way round
REORDER = 0.2          # share of drawings whose strokes come in another order
SMOOTH = 0.6           # share drawn through the canvas' curve smoothing
SPARSE = 0.4           # share written quickly: only every 2nd-5th point kept
DENSE = 0.2            # share written slowly: points added between the recorded ones
GENERATED_SHARE = 0.2  # generated non-digits, as a share of the real trajectories
WEIGHTS = (0.0, 0.25, 0.4, 0.5, 0.6, 0.75, 1.0)   # the image reader's share in `combine`, chosen on "choose"


def augmented(stroke_list, rng: np.random.Generator) -> list:
    """Strokes in canvas pixels -> as another writer or device might have given them."""
    out = []
    for s in stroke_list:
        s = np.asarray(s, np.float64)
        if rng.random() < REVERSE:
            s = s[::-1]
        if rng.random() < SPARSE and len(s) > 8:
            step = int(rng.integers(2, 6))
            s = np.concatenate([s[:-1:step], s[-1:]])
        elif rng.random() < DENSE and len(s) > 1:
            t = np.linspace(0, len(s) - 1, 2 * len(s) - 1)
            s = np.stack([np.interp(t, np.arange(len(s)), s[:, k]) for k in (0, 1)], axis=1)
        if rng.random() < SMOOTH and len(s) > 2:
            s = pen.smoothed(s)
        out.append(s)
    if len(out) > 1 and rng.random() < REORDER:
        out = [out[i] for i in rng.permutation(len(out))]
    return out


def generated_non_digit(rng: np.random.Generator) -> list:
    """A generated letter, symbol or scribble (strokes.py's), in canvas pixels."""
    shape = strokes.scribble(rng) if rng.random() < 0.45 else strokes.LETTERS[sorted(strokes.LETTERS)[
        rng.integers(len(strokes.LETTERS))]]
    height = rng.uniform(0.3, 0.9) * CANVAS
    width = height * rng.uniform(0.4, 1.2)
    return [np.asarray(s, np.float64) * [width, height] + rng.normal(0, 0.01 * height, (len(s), 2))
            for s in shape]


def training_set(parts, copies: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, 784) float32 features and labels (NOT_A_DIGIT for non-digits) of the protocol's `parts`,
    each trajectory `copies` times, differently augmented; generated non-digits added."""
    from mnist_core.preprocess import NOT_A_DIGIT
    rng = np.random.default_rng(seed)
    real = [w for part in parts for w in protocol.written(part, "digits") + protocol.written(part, "letters")]
    rows, labels = [], []
    for _ in range(copies):
        for w in real:
            placed = pendigits.place(w, rng, augment=True)
            rows.append(pen.features(augmented(placed, rng)))
            labels.append(w.label if isinstance(w.label, int) else NOT_A_DIGIT)
        for _ in range(int(GENERATED_SHARE * len(real))):
            rows.append(pen.features(augmented(generated_non_digit(rng), rng)))
            labels.append(NOT_A_DIGIT)
    return np.stack(rows).reshape(len(rows), -1), np.array(labels, np.uint8)


def build_model():
    import keras
    from keras import layers
    convolutions = []
    for filters, window in ((48, 5), (64, 5), (96, 3)):
        convolutions += [layers.SeparableConv2D(filters, (window, 1), padding="same", use_bias=False),
                         layers.BatchNormalization(), layers.Activation("relu")]
        if filters < 96:
            convolutions.append(layers.MaxPooling2D((2, 1)))
    return keras.Sequential([
        keras.Input((pen.POINTS * pen.FEATURES,)),
        layers.Reshape((pen.POINTS, 1, pen.FEATURES)),
        layers.Conv2D(24, (5, 1), padding="same", activation="relu"),
        *convolutions,
        layers.GlobalMaxPooling2D(),
        layers.Dropout(0.2),
        layers.Dense(10, activation="softmax"),
    ], name="pen_reader")


def train(parts, *, epochs: int, copies: int, seed: int = 0, verbose: int = 2):
    """A pen reader trained on the protocol's `parts`: (model, seconds)."""
    import time

    import keras

    from mnist_core.preprocess import soft_targets
    keras.utils.set_random_seed(seed)
    x, y = training_set(parts, copies, seed)
    started = time.time()
    model = build_model()
    steps = epochs * int(np.ceil(len(x) / 128))
    schedule = keras.optimizers.schedules.CosineDecay(0.0, steps, warmup_target=3e-3, warmup_steps=steps // 10)
    model.compile(keras.optimizers.Adam(schedule), "categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, soft_targets(y), batch_size=128, epochs=epochs, shuffle=True, verbose=verbose)
    return model, time.time() - started


def combine(image_p: np.ndarray, pen_p: np.ndarray | None, image_weight: float) -> np.ndarray:
    """The two readers' probabilities as one: their weighted mean (image alone without a pen)."""
    if pen_p is None:
        return np.asarray(image_p)
    return image_weight * np.asarray(image_p) + (1 - image_weight) * np.asarray(pen_p)


def errors(probabilities, labels, threshold: float) -> float:
    """What a choice costs on a labelled part: the share of its digits named wrong plus the share of
    its non-digits named as a digit (each answer withheld below `threshold`)."""
    from mnist_core.preprocess import NOT_A_DIGIT
    top, guess = probabilities.max(axis=1), probabilities.argmax(axis=1)
    named, digits = top >= threshold, labels != NOT_A_DIGIT
    wrong = (named & digits & (guess != labels)).sum() / max(digits.sum(), 1)
    return float(wrong + (named & ~digits).sum() / max((~digits).sum(), 1))


def choose_combiner(image_p, pen_p, labels) -> tuple[float, float, float]:
    """(image weight, withhold threshold, errors) with the fewest errors on the choose part; every
    weight's threshold withholds at most predict.WITHHOLD_AT_MOST of its digits. Weight 1 (the
    image reader alone) is a candidate, so the choice is never worse than it there."""
    from mnist_core.predict import choose_threshold
    found = []
    for weight in WEIGHTS:
        p = combine(image_p, pen_p, weight)
        threshold = choose_threshold(p, labels)
        found.append((errors(p, labels, threshold), -weight, threshold))
    cost, weight, threshold = min(found)
    return -weight, threshold, cost


def on_canvas(part: str, kind: str = "digits"):
    """Each real trajectory of a part drawn once on the page's canvas: (Written, its strokes in canvas
    pixels, brush), each from its own fixed random stream (pendigits.PART_SEEDS; the pen digits are
    placed as pendigits.prepared places them)."""
    from .canvas import random_brush
    seed = pendigits.PART_SEEDS[part] + (0 if kind == "digits" else 7919)
    for i, w in enumerate(protocol.written(part, kind)):
        rng = np.random.default_rng([seed, i])
        placed = pendigits.place(w, rng)
        yield w, placed, random_brush(rng)


def drawn(part: str, kind: str = "digits") -> dict:
    """A part's drawings (`on_canvas`) as both readers get them: the painted canvas prepared by
    canvas_to_mnist (`images`, (n, 28, 28) float32) and the strokes through the canvas' curve smoothing
    (`features`, (n, 784)); with `labels` (non-digits: NOT_A_DIGIT) and `writers`."""
    from mnist_core.preprocess import NOT_A_DIGIT, canvas_to_mnist
    from .canvas import paint
    found = {key: [] for key in ("images", "features", "labels", "writers")}
    for w, placed, brush in on_canvas(part, kind):
        found["images"].append(canvas_to_mnist(paint(placed, brush)))
        found["features"].append(pen.features([pen.smoothed(s) for s in placed]).reshape(-1))
        found["labels"].append(w.label if isinstance(w.label, int) else NOT_A_DIGIT)
        found["writers"].append(w.writer)
    return {key: np.array(value) for key, value in found.items()}
