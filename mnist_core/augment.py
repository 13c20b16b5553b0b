"""Training-time augmentation: digits as people really draw them.

Each training batch is randomly rotated, scaled, sheared and shifted (one affine warp per image)
and its strokes randomly thickened or thinned, so that a model learns to read slanted, small,
off-centre, bold or thin drawings, not only MNIST's tidy ones. `strength` (0..1) scales every
range; at 1 it is rotation ±15°, scale ±15 %, shear ±0.25, shift ±2.5 px.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf


def _affine_matrices(count, strength):
    angle = tf.random.uniform([count], -1, 1) * math.radians(15) * strength
    scale = 1 + tf.random.uniform([count], -1, 1) * 0.15 * strength
    shear = tf.random.uniform([count], -1, 1) * 0.25 * strength
    shift = tf.random.uniform([count, 2], -1, 1) * 2.5 * strength
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    # Output pixel -> input pixel, about the image centre (13.5, 13.5).
    a0, a1 = cos, -sin + shear * cos
    b0, b1 = sin, cos + shear * sin
    centre = 13.5
    a2 = centre - a0 * centre - a1 * centre - shift[:, 0]
    b2 = centre - b0 * centre - b1 * centre - shift[:, 1]
    zeros = tf.zeros([count])
    return tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


def augment_batch(images, strength: float):
    """images: float32 (batch, 28, 28, 1) in [0, 1]."""
    count = tf.shape(images)[0]
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=_affine_matrices(count, strength), output_shape=[28, 28],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT")
    # Stroke thickness: dilate (max filter) a fifth of the digits, erode (min filter) a fifth.
    thicker = tf.nn.max_pool2d(warped, 2, 1, "SAME")
    thinner = -tf.nn.max_pool2d(-warped, 2, 1, "SAME")
    choice = tf.random.uniform([count, 1, 1, 1])
    pick = 0.2 * strength
    return tf.where(choice < pick, thicker, tf.where(choice > 1 - pick, thinner, warped))


def augmented_batches(images: np.ndarray, labels: np.ndarray, batch_size: int, strength: float,
                      seed: int | None = None) -> tf.data.Dataset:
    """A shuffled, batched, augmented dataset of (images, labels); images as the model takes them."""
    shape = images.shape[1:]
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True).batch(batch_size)

    def augment(x, y):
        squares = tf.reshape(x, [-1, 28, 28, 1])
        return tf.reshape(augment_batch(squares, strength), tf.concat([[-1], shape], 0)), y

    return dataset.map(augment, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
