"""Training-time augmentation: digits as people really draw them.

Each training batch is warped once per image: a random affine map (rotation, scale, shear, shift)
plus a smooth random "elastic" displacement (Simard et al., 2003: the wobble of a hand that writes
quickly), then its strokes are randomly thickened or thinned. A model so trained learns to read
slanted, small, off-centre, wobbly, bold or thin drawings, not only MNIST's tidy ones. `strength`
(0..1) scales every range; at 1 it is rotation ±15°, scale ±15 %, shear ±0.25, shift ±2.5 px and
an elastic displacement of about 1 px (standard deviation; smooth over a third of the image).
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

SIZE = 28
CENTRE = (SIZE - 1) / 2
ELASTIC_GRID = 4          # control points per side: one bend per third of the image
ELASTIC_PIXELS = 1.0      # displacement's standard deviation at strength 1


def _affine_matrices(count, strength):
    """Per image, the 2x3 map from an output pixel (x, y) to the input pixel it reads."""
    angle = tf.random.uniform([count], -1, 1) * math.radians(15) * strength
    scale = 1 + tf.random.uniform([count], -1, 1) * 0.15 * strength
    shear = tf.random.uniform([count], -1, 1) * 0.25 * strength
    shift = tf.random.uniform([count, 2], -1, 1) * 2.5 * strength
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    a0, a1 = cos, -sin + shear * cos
    b0, b1 = sin, cos + shear * sin
    a2 = CENTRE - a0 * CENTRE - a1 * CENTRE - shift[:, 0]
    b2 = CENTRE - b0 * CENTRE - b1 * CENTRE - shift[:, 1]
    return tf.stack([a0, a1, a2, b0, b1, b2], axis=1)


def _elastic_displacement(count, strength):
    """(count, 28, 28, 2) smooth random displacements: Gaussian noise on a coarse grid, upsampled
    bicubically. (Simard blurs per-pixel noise with a Gaussian; a coarse grid gives the same
    smooth field for a fraction of the work.)"""
    coarse = tf.random.normal([count, ELASTIC_GRID, ELASTIC_GRID, 2]) * ELASTIC_PIXELS * strength
    return tf.image.resize(coarse, [SIZE, SIZE], method="bicubic")


def warp(images, matrices, displacement=None):
    """Sample each image at matrices @ (x, y, 1) (+ displacement), bilinearly; zero outside.

    images: (batch, 28, 28, 1); matrices: (batch, 6), as `_affine_matrices`; displacement:
    (batch, 28, 28, 2) in pixels (x, y), or None.
    """
    count = tf.shape(images)[0]
    ys, xs = tf.meshgrid(tf.range(SIZE, dtype=tf.float32), tf.range(SIZE, dtype=tf.float32),
                         indexing="ij")
    m = matrices[:, :, None, None]
    src_x = m[:, 0] * xs + m[:, 1] * ys + m[:, 2]
    src_y = m[:, 3] * xs + m[:, 4] * ys + m[:, 5]
    if displacement is not None:
        src_x += displacement[..., 0]
        src_y += displacement[..., 1]
    # A one-pixel border of zeros: any point outside the image reads 0 from it after clipping.
    padded = tf.reshape(tf.pad(images[..., 0], [[0, 0], [1, 1], [1, 1]]), [-1])
    side = SIZE + 2
    x0, y0 = tf.floor(src_x), tf.floor(src_y)
    fx, fy = src_x - x0, src_y - y0
    base = (tf.range(count) * side * side)[:, None, None]

    def read(x, y):
        col = tf.cast(tf.clip_by_value(x + 1, 0, side - 1), tf.int32)
        row = tf.cast(tf.clip_by_value(y + 1, 0, side - 1), tf.int32)
        return tf.gather(padded, base + row * side + col)

    top = read(x0, y0) * (1 - fx) + read(x0 + 1, y0) * fx
    bottom = read(x0, y0 + 1) * (1 - fx) + read(x0 + 1, y0 + 1) * fx
    return (top * (1 - fy) + bottom * fy)[..., None]


def augment_batch(images, strength: float, elastic: bool = True):
    """images: float32 (batch, 28, 28, 1) in [0, 1]."""
    count = tf.shape(images)[0]
    displacement = _elastic_displacement(count, strength) if elastic else None
    warped = warp(images, _affine_matrices(count, strength), displacement)
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
        squares = tf.reshape(x, [-1, SIZE, SIZE, 1])
        return tf.reshape(augment_batch(squares, strength), tf.concat([[-1], shape], 0)), y

    return dataset.map(augment, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
