"""How a model learns: its optimizer, learning-rate schedule and loss, from a preset's recipe.

Only Keras' own objects, so a saved model contains nothing but Keras.
"""

from __future__ import annotations

import keras

from .presets import OPTIMIZERS

WARMUP_FRACTION = 4      # the first quarter of the steps warms up
WARMUP_START = 25        # from peak / 25


def one_cycle(peak: float, total_steps: int):
    """Warm up from peak/25 to peak, then cosine down to zero."""
    warmup = max(1, total_steps // WARMUP_FRACTION)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak / WARMUP_START, decay_steps=max(1, total_steps - warmup),
        alpha=0.0, warmup_target=peak, warmup_steps=warmup)


def make_optimizer(name: str, learning_rate):
    kind, extra = OPTIMIZERS[name]
    return getattr(keras.optimizers, kind)(learning_rate=learning_rate, **extra)


def loss(label_smoothing: float = 0.0):
    """Categorical cross-entropy: by its Keras name when plain (the tutorial's), else smoothed."""
    if not label_smoothing:
        return "categorical_crossentropy"
    return keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)


def compile_model(model: keras.Model, recipe: dict, total_steps: int | None = None) -> None:
    """Compile with the recipe's optimizer and loss; a one-cycle schedule needs `total_steps`."""
    rate = recipe["learning_rate"]
    if recipe.get("schedule") == "one_cycle" and total_steps:
        rate = one_cycle(rate, total_steps)
    model.compile(optimizer=make_optimizer(recipe["optimizer"], rate),
                  loss=loss(recipe.get("label_smoothing", 0.0)), metrics=["accuracy"])
