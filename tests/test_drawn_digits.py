"""The drawn-digit evaluation set (bench/drawn_digits.py) and how the bundled model reads it."""

import numpy as np

from bench.drawn_digits import CANVAS, drawn_digits
from mnist_core.preprocess import canvas_to_mnist, plain_resize

from .conftest import ROOT


def test_set_is_repeatable_balanced_and_canvas_shaped():
    images, labels = drawn_digits(60, seed=7)
    again, _ = drawn_digits(60, seed=7)
    np.testing.assert_array_equal(images, again)
    assert images.shape == (60, CANVAS, CANVAS) and images.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == [6] * 10
    ink = (images > 0).mean(axis=(1, 2))
    assert ink.min() > 0.005 and ink.max() < 0.5          # a digit, not a blank or a blot
    assert not np.array_equal(images, drawn_digits(60, seed=8)[0])


def test_bundled_model_reads_drawn_digits_and_preprocessing_matters():
    """Accuracy floors, not timings: the default model must read what people draw."""
    from mnist_core import storage
    from mnist_core.predict import Predictor
    model, _ = storage.load_model(ROOT / "models" / "default.keras")
    predictor = Predictor(model)
    images, labels = drawn_digits(300, seed=11)
    centred = predictor.predict(np.stack([canvas_to_mnist(image) for image in images]))
    plain = predictor.predict(np.stack([plain_resize(image) for image in images]))
    assert (centred == labels).mean() >= 0.93
    assert (centred == labels).mean() > (plain == labels).mean() + 0.2
