"""Step 6 of the tutorial: ask the network what a digit is.

`model.predict` builds a dataset and a loop on every call (~40 ms for one image); a compiled
`model(x, training=False)` answers one drawing in about a millisecond. Read the answer with argmax:
the tutorial compared a probability with exactly 1, which almost never holds.
"""

from __future__ import annotations

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


def top_k(probabilities: np.ndarray, k: int = 3) -> list[tuple[int, float]]:
    """The k likeliest digits of one probability row, best first."""
    order = np.argsort(probabilities)[::-1][:k]
    return [(int(digit), float(probabilities[digit])) for digit in order]


# --- Reading one drawing, honestly ---------------------------------------------------------------

CONFIDENT = 0.6    # below this top probability the app says it is unsure instead of naming a digit


class Reading:
    """What the app should say about one drawing: a digit, or why it won't name one."""

    def __init__(self, probabilities: np.ndarray, image: np.ndarray):
        from .preprocess import MNIST_INK_RANGE
        self.probabilities = probabilities
        self.digit = int(probabilities.argmax())
        self.confidence = float(probabilities.max())
        ink = float(np.mean(image))
        if ink > MNIST_INK_RANGE[1]:
            self.problem = ("That is more ink than any digit in MNIST has: a dot or a scribble is "
                            "blown up to fill the frame. Draw one digit with a clear shape.")
        elif ink < MNIST_INK_RANGE[0]:
            self.problem = "There is too little ink to read: draw the digit larger or bolder."
        elif self.confidence < CONFIDENT:
            second = top_k(probabilities, 2)[1]
            self.problem = (f"The model is unsure: {self.digit} ({self.confidence:.0%}) or "
                            f"{second[0]} ({second[1]:.0%}). Try drawing it more clearly.")
        else:
            self.problem = None

    @property
    def sure(self) -> bool:
        return self.problem is None
