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

import tensorflow as tf

SIZE = 28
CENTRE = (SIZE - 1) / 2
# The ranges at strength 1 (each scaled by strength):
ROTATION_DEGREES = 15
SCALE = 0.15              # zoom in or out by up to 15 %
SHEAR = 0.25
SHIFT_PIXELS = 2.5
ELASTIC_GRID = 4          # control points per side: one bend per third of the image
ELASTIC_PIXELS = 1.0      # displacement's standard deviation at strength 1


def _uniform(shape, seed):
    return tf.random.stateless_uniform(shape, seed, -1, 1)


def _affine_matrices(count, strength, seed):
    """Per image, the 2x3 map from an output pixel (x, y) to the input pixel it reads."""
    seeds = tf.random.experimental.stateless_split(seed, 4)
    angle = _uniform([count], seeds[0]) * math.radians(ROTATION_DEGREES) * strength
    scale = 1 + _uniform([count], seeds[1]) * SCALE * strength
    shear = _uniform([count], seeds[2]) * SHEAR * strength
    shift = _uniform([count, 2], seeds[3]) * SHIFT_PIXELS * strength
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    a0, a1 = cos, -sin + shear * cos
    b0, b1 = sin, cos + shear * sin
    a2 = CENTRE - a0 * CENTRE - a1 * CENTRE - shift[:, 0]
    b2 = CENTRE - b0 * CENTRE - b1 * CENTRE - shift[:, 1]
    return tf.stack([a0, a1, a2, b0, b1, b2], axis=1)


def _elastic_displacement(count, strength, seed):
    """(count, 28, 28, 2) smooth random displacements: Gaussian noise on a coarse grid, upsampled
    bicubically. (Simard blurs per-pixel noise with a Gaussian; a coarse grid gives the same
    smooth field for a fraction of the work.)"""
    coarse = tf.random.stateless_normal([count, ELASTIC_GRID, ELASTIC_GRID, 2], seed)
    coarse *= ELASTIC_PIXELS * strength
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


def augment_batch(images, strength: float, seed, elastic: bool = True):
    """images: float32 (batch, 28, 28, 1) in [0, 1]; seed: two integers. The same seed gives the
    same batch: stateless random ops, so runs on other threads can't change what a run sees."""
    count = tf.shape(images)[0]
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 3)
    displacement = _elastic_displacement(count, strength, seeds[1]) if elastic else None
    warped = warp(images, _affine_matrices(count, strength, seeds[0]), displacement)
    # Stroke thickness: dilate (max filter) a fifth of the digits, erode (min filter) a fifth.
    thicker = tf.nn.max_pool2d(warped, 2, 1, "SAME")
    thinner = -tf.nn.max_pool2d(-warped, 2, 1, "SAME")
    choice = tf.random.stateless_uniform([count, 1, 1, 1], seeds[2])
    pick = 0.2 * strength
    return tf.where(choice < pick, thicker, tf.where(choice > 1 - pick, thinner, warped))
