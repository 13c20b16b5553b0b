"""Learning from corrections: when the model misreads a drawing, the learner says what it is and a
copy of the model trains a little on it.

A few dozen small steps, each batch the corrections (lightly warped, so the model learns the
drawing and not its exact pixels) beside MNIST training digits and real pen digits by the training
writers, replayed so that it does not forget the rest (Robins 1995; "experience replay"). What it
learnt is measured on MNIST's test set and on the held-out writers' pen digits. The original model
is never changed. Corrections travel as a small labelled dataset: an .npz of uint8 28x28 images
and their labels.
"""

from __future__ import annotations

import functools
import io

import numpy as np

from mnist_core.preprocess import NOT_A_DIGIT, soft_targets

STEPS = 50              # optimiser steps per fine-tune: ~1 s for the default CNN on 2 cores
REPLAY = 56             # replayed digits in each batch, beside the corrections...
PEN_REPLAY = 8          # ...of which real pen digits by the training writers (the rest MNIST)
PEN_EVERY = 10          # every 10th training-writer digit is kept for replay (~550)
HELD_OUT_EVERY = 2      # every 2nd held-out writers' digit measures a lesson (500)
PER_BATCH = 8           # correction samples in each batch (repeated and warped when fewer)
LEARNING_RATE = 2e-4    # small: nudge the network, don't retrain it
WARP = 0.5              # augmentation strength for the corrections (mnist_core.drawings.augment)
MAX_CORRECTIONS = 200   # a session keeps at most this many


@functools.lru_cache(maxsize=1)
def pen_replay() -> tuple[np.ndarray, np.ndarray]:
    """Training writers' pen digits as the page prepares them (uint8), drawn once per process."""
    from mnist_core.drawings import pendigits
    return pendigits.prepare("train", every=PEN_EVERY)


@functools.lru_cache(maxsize=1)
def _held_out() -> tuple[np.ndarray, np.ndarray]:
    from mnist_core.drawings import pendigits
    images, labels = pendigits.prepare("held_out", every=HELD_OUT_EVERY)
    return images.astype(np.float32) / 255, labels


def held_out_accuracy(predictor) -> float:
    """The share of the held-out writers' pen digits (every HELD_OUT_EVERY-th) `predictor` names right."""
    images, labels = _held_out()
    return float((predictor.predict(images) == labels).mean())


def warm_up() -> None:
    """Draw the pen digits a lesson replays and is measured on now, not in the first lesson."""
    pen_replay()
    _held_out()


def fine_tune(model, images: np.ndarray, labels: np.ndarray, replay_images: np.ndarray,
              replay_labels: np.ndarray, *, pen: tuple | None = None, seed: int = 0, keep_going=None):
    """A copy of `model` trained for STEPS steps on the corrections (`images` (n, 28, 28) in [0, 1],
    `labels` 0-9, or NOT_A_DIGIT) with MNIST replay (uint8 `replay_images`) and, when `pen` (uint8
    images, labels) is given, PEN_REPLAY pen digits in each batch. `model` is unchanged.
    None if `keep_going()` turned false between two steps (the learner left: no half lesson)."""
    import keras
    import tensorflow as tf

    from mnist_core.drawings.augment import augment_batch
    images = np.asarray(images, np.float32)
    labels = np.asarray(labels)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) != len(labels) or not len(images):
        raise ValueError("corrections must be (n, 28, 28) images with n labels, n >= 1")
    if labels.min() < 0 or labels.max() > NOT_A_DIGIT:
        raise ValueError(f"correction labels must lie in 0..{NOT_A_DIGIT}")
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    copy.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="categorical_crossentropy")

    rng = np.random.default_rng(seed)
    mine = rng.integers(len(images), size=(STEPS, PER_BATCH))
    from_pen = PEN_REPLAY if pen is not None else 0
    replayed = rng.integers(len(replay_images), size=(STEPS, REPLAY - from_pen))
    x_mine = augment_batch(tf.constant(images[mine.ravel()][..., None]), WARP,
                           tf.constant([seed, 1], tf.int64))[..., 0].numpy()
    x_parts = [x_mine.reshape(STEPS, PER_BATCH, 28, 28), replay_images[replayed].astype(np.float32) / 255]
    y_parts = [labels[mine], replay_labels[replayed]]
    if from_pen:
        drawn = rng.integers(len(pen[0]), size=(STEPS, from_pen))
        x_parts.append(pen[0][drawn].astype(np.float32) / 255)
        y_parts.append(pen[1][drawn])
    x = np.concatenate(x_parts, axis=1)
    y = np.concatenate(y_parts, axis=1).astype(np.int64)
    targets = soft_targets(y)          # "not a digit": no digit more likely than another
    shape = (STEPS * (PER_BATCH + REPLAY),) + tuple(copy.input_shape[1:])
    stop = _StopWhen(keep_going) if keep_going is not None else None
    copy.fit(x.reshape(shape), targets.reshape(-1, 10), batch_size=PER_BATCH + REPLAY, epochs=1,
             shuffle=False, verbose=0, callbacks=[stop] if stop else None)
    return None if stop is not None and stop.stopped else copy


def _StopWhen(keep_going):
    import keras

    class StopWhen(keras.callbacks.Callback):
        stopped = False

        def on_train_batch_end(self, batch, logs=None):
            if not keep_going():
                self.stopped = self.model.stop_training = True
    return StopWhen()


def to_npz(images: np.ndarray, labels: np.ndarray) -> bytes:
    """The corrections as an .npz: `images` uint8 (n, 28, 28), ink 255 on 0, like MNIST; `labels`
    (n,) uint8, 0-9, or 10 for "not a digit"."""
    buffer = io.BytesIO()
    pixels = np.round(np.clip(np.asarray(images, np.float32), 0, 1) * 255).astype(np.uint8)
    np.savez_compressed(buffer, images=pixels, labels=np.asarray(labels, np.uint8))
    return buffer.getvalue()


def from_npz(payload: bytes) -> tuple[np.ndarray, np.ndarray]:
    with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
        return archive["images"], archive["labels"]
