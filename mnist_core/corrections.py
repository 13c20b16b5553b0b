"""Learning from corrections: when the model misreads a drawing, the learner says what it is and a
copy of the model trains a little on it.

A few dozen small steps, each batch the corrections (lightly warped, so the model learns the
drawing and not its exact pixels) beside MNIST training digits replayed so that it does not forget
the rest (Robins 1995; "experience replay"). The original model is never changed. Corrections
travel as a small labelled dataset: an .npz of uint8 28x28 images and their labels.
"""

from __future__ import annotations

import io

import numpy as np

from .preprocess import NOT_A_DIGIT, soft_targets

STEPS = 50              # optimiser steps per fine-tune: ~1 s for the default CNN on 2 cores
REPLAY = 56             # MNIST training digits in each batch, beside the corrections
PER_BATCH = 8           # correction samples in each batch (repeated and warped when fewer)
LEARNING_RATE = 2e-4    # small: nudge the network, don't retrain it
WARP = 0.5              # augmentation strength for the corrections (mnist_core.augment)
MAX_CORRECTIONS = 200   # a session keeps at most this many


def fine_tune(model, images: np.ndarray, labels: np.ndarray, replay_images: np.ndarray,
              replay_labels: np.ndarray, *, seed: int = 0):
    """A copy of `model` trained for STEPS steps on the corrections (`images` (n, 28, 28) in [0, 1],
    `labels` 0-9, or NOT_A_DIGIT) with MNIST replay (uint8 `replay_images`). `model` is unchanged."""
    import keras
    import tensorflow as tf

    from .augment import augment_batch
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
    replayed = rng.integers(len(replay_images), size=(STEPS, REPLAY))
    x_mine = augment_batch(tf.constant(images[mine.ravel()][..., None]), WARP,
                           tf.constant([seed, 1], tf.int64))[..., 0].numpy()
    x = np.concatenate([x_mine.reshape(STEPS, PER_BATCH, 28, 28),
                        replay_images[replayed].astype(np.float32) / 255], axis=1)
    y = np.concatenate([labels[mine], replay_labels[replayed]], axis=1).astype(np.int64)
    targets = soft_targets(y)          # "not a digit": no digit more likely than another
    shape = (STEPS * (PER_BATCH + REPLAY),) + tuple(copy.input_shape[1:])
    copy.fit(x.reshape(shape), targets.reshape(-1, 10), batch_size=PER_BATCH + REPLAY, epochs=1,
             shuffle=False, verbose=0)
    return copy


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
