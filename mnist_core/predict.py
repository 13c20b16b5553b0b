"""Step 6 of the tutorial: ask the network what a digit is.

`model.predict` builds a dataset and a loop on every call (~40 ms for one image); a compiled
`model(x, training=False)` answers one drawing in about a millisecond. Read the answer with argmax:
the tutorial compared a probability with exactly 1, which holds only when float32 happens to round
the top probability up to 1.0 (for a confident model, often; for others, rarely), so it finds the
digit only sometimes.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from mnist_core.modelfile import cost
# At most this many forward passes run at once in the process; the rest wait their turn. A class
# drawing at once would otherwise put a hundred calls into TensorFlow's shared thread pool together:
# each would take as long as all of them, and each thread holds its own scratch memory.
INFERENCE_SLOTS = int(os.environ.get("MNIST_STUDIO_INFERENCE_SLOTS", 2))
_inference = threading.BoundedSemaphore(INFERENCE_SLOTS)


def gated(function):
    """`function` (a compiled forward pass), taking one of the INFERENCE_SLOTS while it runs."""
    def call(*args):
        with _inference:
            return function(*args)
    return call


class OutOfTime(TimeoutError):
    """predict_proba ran past its time limit: `values` say how far it got (code "too_slow")."""

    code = "too_slow"

    def __init__(self, done: int, total: int, seconds: float):
        self.values = {"done": done, "total": total, "seconds": round(seconds)}
        super().__init__(f"{self.code} {self.values}")


def chunk_for(model) -> int:
    """Images per forward pass for `model`: large inputs go through in pieces whose layer outputs
    stay within cost.CHUNK_BYTES and whose work within cost.CHUNK_MULTIPLY_ADDS, so memory stays
    flat whatever the model (a wide upload gets smaller pieces)."""
    try:
        return cost.of_model(model).chunk()
    except cost.CostError:      # a model built here, not read from a file: no budget applies
        return cost.CHUNK_IMAGES


class Predictor:
    """Fast, thread-safe probabilities from a Keras model, for images shaped (n, 28, 28) in [0, 1].

    `withhold_below`: the confidence under which `read` names no digit; a model trained with
    drawings carries its own in its metadata (chosen on held-out drawings), others use CONFIDENT.
    `shared_slots=False` runs outside the INFERENCE_SLOTS: for work that costs only its owner (an
    upload's evaluation), which must not make every learner's drawing wait.
    """

    def __init__(self, model, withhold_below: float | None = None, *, shared_slots: bool = True):
        self.model = model
        self.withhold_below = CONFIDENT if withhold_below is None else float(withhold_below)
        self.input_shape = tuple(model.input_shape[1:])
        self.chunk = chunk_for(model)
        signature = tf.TensorSpec((None,) + self.input_shape, tf.float32)
        # One trace for every batch size; reduce_retracing keeps it that way.
        forward = tf.function(lambda x: model(x, training=False), input_signature=[signature],
                              reduce_retracing=True)
        self._forward = gated(forward) if shared_slots else forward

    def predict_proba(self, images, *, seconds: float | None = None) -> np.ndarray:
        """Probabilities (n, 10). With `seconds`, OutOfTime once that long has passed (checked
        between chunks, each of which is bounded)."""
        images = np.asarray(images, dtype=np.float32)
        if images.shape == (28, 28):
            images = images[None]
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(f"expected images shaped (n, 28, 28); got {images.shape}")
        if not np.isfinite(images).all():
            raise ValueError("images hold NaN or infinite values")
        batch = images.reshape((len(images),) + self.input_shape)
        if len(batch) <= self.chunk:
            return self._forward(batch).numpy()
        deadline = None if seconds is None else time.monotonic() + seconds
        parts = []
        for start in range(0, len(batch), self.chunk):
            if deadline is not None and time.monotonic() >= deadline:
                raise OutOfTime(start, len(batch), seconds)
            parts.append(self._forward(batch[start:start + self.chunk]).numpy())
        return np.concatenate(parts)

    def predict(self, images) -> np.ndarray:
        """The digit each image most likely shows."""
        return self.predict_proba(images).argmax(axis=1)

    def read(self, image, *, photo: bool = False) -> "Reading":
        """What to say about one 28x28 image (from canvas_to_mnist): a digit, or why not.
        `photo`: the image came from a photo, so the advice speaks of photos."""
        image = np.asarray(image, dtype=np.float32)
        return Reading(self.predict_proba(image)[0], image, self.withhold_below, photo=photo)


def best_reader():
    """The bundled best reader (storage.BEST_READER): a Predictor with the withhold threshold its
    file carries (chosen on the choose-writers' real digits); its Keras model is `.model`."""
    from . import storage
    model, metadata = storage.load_model(storage.BEST_READER)
    return Predictor(model, metadata.get("withhold_below"))


class PenReader:
    """The bundled pen reader (mnist_core.drawings.penreader): probabilities from a drawing's strokes,
    and how they join the image reader's (`image_weight`, `withhold_below`, chosen on the protocol's
    choose part with the bundled image reader; with another image reader they are not used)."""

    def __init__(self, model, image_weight: float, withhold_below: float, pen_withhold_below: float | None = None):
        self.model, self.image_weight, self.withhold_below = model, float(image_weight), float(withhold_below)
        # the pen reader alone (the bench's row), chosen on the choose part too
        self.pen_withhold_below = CONFIDENT if pen_withhold_below is None else float(pen_withhold_below)
        signature = tf.TensorSpec((None,) + tuple(model.input_shape[1:]), tf.float32)
        self._forward = gated(tf.function(lambda x: model(x, training=False), input_signature=[signature],
                                          reduce_retracing=True))

    def predict_proba(self, strokes) -> np.ndarray:
        """Probabilities (10,) for one drawing's strokes (canvas pixels, in order)."""
        from .drawings.pen import features
        return self._forward(features(strokes).reshape(1, -1))[0].numpy()


def pen_reader() -> PenReader | None:
    """The bundled pen reader, or None when its file is not there (drawings are then read by the image)."""
    from . import storage
    if not storage.PEN_READER.exists():
        return None
    model, metadata = storage.load_model(storage.PEN_READER)
    return PenReader(model, metadata["image_weight"], metadata["withhold_below"],
                     metadata.get("pen_withhold_below"))


def read_canvas(image, json_data=None, reader: Predictor | None = None, pen: PenReader | None = None, *,
                photo: bool = False) -> "Reading":
    """What to say about what the Predict page's canvas returned: its RGBA `image` and its `json_data`
    (fabric.js objects; each pen stroke a `path` of M, Q, L commands in canvas pixels). The image goes
    through canvas_to_mnist to `reader` (the image reader); with `pen` and strokes, the pen reader reads
    the strokes and the two answers become one (their weighted mean, withheld below the pen reader's
    threshold). A photo or an upload has no strokes: the image is read alone (`photo`: its advice speaks
    of photos). Raises EmptyDrawingError (no ink), ValueError (not an image), CanvasDataError."""
    from .drawings.pen import fabric_strokes
    from .drawings.penreader import combine
    from .preprocess import canvas_to_mnist_steps
    steps = canvas_to_mnist_steps(image)
    strokes = [] if photo else fabric_strokes(json_data)
    image_p = reader.predict_proba(steps.centred)[0]
    if pen is None or not strokes:
        reading = Reading(image_p, steps.centred, reader.withhold_below, photo=photo)
    else:
        pen_p = pen.predict_proba(strokes)
        reading = Reading(combine(image_p, pen_p, pen.image_weight), steps.centred, pen.withhold_below)
        reading.readers = {"image": image_p, "pen": pen_p}
    reading.steps = steps
    return reading


def top_k(probabilities: np.ndarray, k: int = 3) -> list[tuple[int, float]]:
    """The k likeliest digits of one probability row, best first."""
    order = np.argsort(probabilities)[::-1][:k]
    return [(int(digit), float(probabilities[digit])) for digit in order]


# --- Reading one drawing, honestly ---------------------------------------------------------------

CONFIDENT = 0.6    # below this top probability the app says it is unsure instead of naming a digit
TORN = 0.8         # when the two likeliest digits hold this much, the model is torn between them
# choose_threshold withholds at most this share of the choose-writers' real digits: below the
# held-out writers' target (withheld <= 2 %), as other writers may be a little less sure.
WITHHOLD_AT_MOST = 0.015

# Why a drawing is not named; studio/ui/locales hold the words for each ("reading.<code>").
PROBLEM_CODES = ("too_much_ink", "too_little_ink", "unsure", "not_a_digit", "unsure_photo",
                 "not_a_digit_photo")


@dataclass(frozen=True)
class Problem:
    """Why a drawing is not named: a code (one of PROBLEM_CODES) and its values; str() is for logs."""
    code: str
    values: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code} " + ", ".join(f"{name}={value:.2f}" if isinstance(value, float) else f"{name}={value}"
                                           for name, value in self.values.items())


class Reading:
    """What the app should say about one 28x28 image: a digit, or why it won't name one.
    `image` is the 28x28 the image reader saw; `read_canvas` adds `steps` (its preprocessing) and
    `readers` (each reader's own probabilities, by name, when more than one read it)."""

    def __init__(self, probabilities: np.ndarray, image: np.ndarray,
                 withhold_below: float = CONFIDENT, *, photo: bool = False):
        from .preprocess import MNIST_INK_RANGE
        self.image, self.steps, self.readers = image, None, {}
        self.probabilities = probabilities
        self.top3 = top_k(probabilities, 3)
        self.guess, self.confidence = self.top3[0]
        ink = float(np.mean(image))
        (first, first_p), (second, second_p) = self.top3[:2]
        if ink > MNIST_INK_RANGE[1]:
            self.problem = Problem("too_much_ink", {"ink": ink})
        elif ink < MNIST_INK_RANGE[0]:
            self.problem = Problem("too_little_ink", {"ink": ink})
        elif self.confidence < withhold_below:
            code = "unsure" if first_p + second_p >= TORN else "not_a_digit"
            self.problem = Problem(code + ("_photo" if photo else ""),
                                   {"first": first, "first_p": first_p, "second": second,
                                    "second_p": second_p})
        else:
            self.problem = None
        self.digit = self.guess if self.problem is None else None   # None: withheld

    @property
    def sure(self) -> bool:
        return self.problem is None


def choose_threshold(probabilities: np.ndarray, labels: np.ndarray,
                     withhold_at_most: float = WITHHOLD_AT_MOST) -> float:
    """The confidence under which to withhold an answer: the highest that withholds at most
    `withhold_at_most` of the digits (labels 0-9) in a held-out set. Rows labelled 10 (not
    digits) do not move it; how many of them it withholds is what it buys."""
    top = np.asarray(probabilities).max(axis=1)
    digits = np.asarray(labels) < 10
    if not digits.any():
        raise ValueError("choosing a threshold needs held-out digits")
    return float(np.quantile(top[digits], withhold_at_most, method="lower"))
