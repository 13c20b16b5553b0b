"""Step 6 of the tutorial: ask the network what a digit is.

`model.predict` builds a dataset and a loop on every call (~40 ms for one image); a compiled
`model(x, training=False)` answers one drawing in about a millisecond. Read the answer with argmax:
the tutorial compared a probability with exactly 1, which holds only when float32 happens to round
the top probability up to 1.0 (for a confident model, often; for others, rarely), so it finds the
digit only sometimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

CHUNK = 2048   # large inputs go through in pieces, so memory stays flat


class Predictor:
    """Fast, thread-safe probabilities from a Keras model, for images shaped (n, 28, 28) in [0, 1]."""

    def __init__(self, model):
        self.model = model
        self.input_shape = tuple(model.input_shape[1:])
        signature = tf.TensorSpec((None,) + self.input_shape, tf.float32)
        # One trace for every batch size; reduce_retracing keeps it that way.
        self._forward = tf.function(lambda x: model(x, training=False),
                                    input_signature=[signature], reduce_retracing=True)

    def predict_proba(self, images) -> np.ndarray:
        images = np.asarray(images, dtype=np.float32)
        if images.shape == (28, 28):
            images = images[None]
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(f"expected images shaped (n, 28, 28); got {images.shape}")
        if not np.isfinite(images).all():
            raise ValueError("images hold NaN or infinite values")
        batch = images.reshape((len(images),) + self.input_shape)
        if len(batch) <= CHUNK:
            return self._forward(batch).numpy()
        return np.concatenate([self._forward(batch[i:i + CHUNK]).numpy()
                               for i in range(0, len(batch), CHUNK)])

    def predict(self, images) -> np.ndarray:
        """The digit each image most likely shows."""
        return self.predict_proba(images).argmax(axis=1)

    def read(self, image) -> "Reading":
        """What to say about one 28x28 image (from canvas_to_mnist): a digit, or why not."""
        image = np.asarray(image, dtype=np.float32)
        return Reading(self.predict_proba(image)[0], image)


def top_k(probabilities: np.ndarray, k: int = 3) -> list[tuple[int, float]]:
    """The k likeliest digits of one probability row, best first."""
    order = np.argsort(probabilities)[::-1][:k]
    return [(int(digit), float(probabilities[digit])) for digit in order]


# --- Reading one drawing, honestly ---------------------------------------------------------------

CONFIDENT = 0.6    # below this top probability the app says it is unsure instead of naming a digit

PROBLEMS = {   # English text; studio/ translates the codes
    "too_much_ink": "That is more ink than any digit in MNIST has: a dot or a scribble is blown up "
                    "to fill the frame. Draw one digit with a clear shape.",
    "too_little_ink": "There is too little ink to read: draw with a wider stroke, or the digit a "
                      "little smaller.",
    "unsure": "The model is unsure: {first} ({first_p:.0%}) or {second} ({second_p:.0%}). "
              "Try drawing it more clearly.",
}


@dataclass(frozen=True)
class Problem:
    """Why a drawing is not named: a code and its values (str() is the English message)."""
    code: str
    values: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return PROBLEMS[self.code].format(**self.values)


class Reading:
    """What the app should say about one 28x28 image: a digit, or why it won't name one."""

    def __init__(self, probabilities: np.ndarray, image: np.ndarray):
        from .preprocess import MNIST_INK_RANGE
        self.probabilities = probabilities
        self.top3 = top_k(probabilities, 3)
        self.guess, self.confidence = self.top3[0]
        ink = float(np.mean(image))
        (first, first_p), (second, second_p) = self.top3[:2]
        if ink > MNIST_INK_RANGE[1]:
            self.problem = Problem("too_much_ink", {"ink": ink})
        elif ink < MNIST_INK_RANGE[0]:
            self.problem = Problem("too_little_ink", {"ink": ink})
        elif self.confidence < CONFIDENT:
            self.problem = Problem("unsure", {"first": first, "first_p": first_p, "second": second,
                                              "second_p": second_p})
        else:
            self.problem = None
        self.digit = self.guess if self.problem is None else None   # None: withheld

    @property
    def sure(self) -> bool:
        return self.problem is None
