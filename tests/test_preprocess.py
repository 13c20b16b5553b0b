"""Preprocessing, checked against plain NumPy / Keras and against MNIST's own digits."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_core.preprocess import (CENTRE, EmptyDrawingError, canvas_to_mnist, canvas_to_mnist_steps,
                                   one_hot, to_model_input)


def centre_of_mass(image):
    ys, xs = np.indices(image.shape)
    total = image.sum()
    return (ys * image).sum() / total, (xs * image).sum() / total


def ink_box(image, threshold=0.05):
    rows = np.flatnonzero((image > threshold).any(axis=1))
    cols = np.flatnonzero((image > threshold).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def drawn_seven(size=280, offset=(30, 10), width=18, dark_on_light=False):
    """A "7" drawn off-centre with a round brush, like the canvas does."""
    background, ink = (255, 0) if dark_on_light else (0, 255)
    image = Image.new("L", (size, size), background)
    draw = ImageDraw.Draw(image)
    x, y = offset
    draw.line([(x + 40, y + 40), (x + 160, y + 40), (x + 90, y + 220)], fill=ink, width=width,
              joint="curve")
    return np.asarray(image)


def test_to_model_input_is_the_tutorials_divide_by_255(mnist):
    np.testing.assert_array_equal(to_model_input(mnist.x_test[:50]),
                                  mnist.x_test[:50].astype("float32") / 255)
    assert to_model_input(mnist.x_test[:2]).dtype == np.float32
    with pytest.raises(ValueError, match="uint8"):
        to_model_input(np.zeros((2, 28, 28), np.float64))


def test_one_hot_matches_keras(mnist):
    import keras
    np.testing.assert_array_equal(one_hot(mnist.y_test), keras.utils.to_categorical(mnist.y_test, 10))
    with pytest.raises(ValueError):
        one_hot(np.array([3, 10]))


def test_drawing_is_cropped_scaled_to_20px_and_centred_by_mass():
    result = canvas_to_mnist(drawn_seven())
    assert result.shape == (28, 28) and result.dtype == np.float32
    assert 0.0 <= result.min() and result.max() <= 1.0
    assert max(ink_box(result)) == 20
    com_y, com_x = centre_of_mass(result)
    assert abs(com_y - CENTRE) <= 0.5 and abs(com_x - CENTRE) <= 0.5


def test_centre_matches_where_mnist_puts_its_digits(mnist):
    """MNIST's own convention, measured: every test digit's centre of mass within 0.5 px of CENTRE."""
    images = to_model_input(mnist.x_test)
    ys, xs = np.indices((28, 28))
    totals = images.sum(axis=(1, 2))
    com_y = (images * ys).sum(axis=(1, 2)) / totals
    com_x = (images * xs).sum(axis=(1, 2)) / totals
    assert abs(com_y.mean() - CENTRE) < 0.05 and abs(com_x.mean() - CENTRE) < 0.05
    assert np.percentile(np.abs(com_y - CENTRE), 99) <= 0.5


def test_aspect_ratio_is_kept():
    image = np.zeros((300, 300), np.uint8)
    image[50:250, 100:150] = 255          # 200 tall, 50 wide
    steps = canvas_to_mnist_steps(image)
    assert steps.scaled.shape == (20, 5)
    assert ink_box(steps.centred) == (20, 5)


def test_inverted_input_gives_the_same_result():
    light_on_dark = canvas_to_mnist(drawn_seven())
    dark_on_light = canvas_to_mnist(drawn_seven(dark_on_light=True))
    np.testing.assert_allclose(light_on_dark, dark_on_light, atol=1e-6)


def test_rgba_canvas_with_transparent_background_uses_alpha():
    grey = drawn_seven()
    rgba = np.zeros(grey.shape + (4,), np.uint8)
    rgba[..., :3] = 0                      # black strokes...
    rgba[..., 3] = grey                    # ...whose ink is only in the alpha channel
    np.testing.assert_allclose(canvas_to_mnist(rgba), canvas_to_mnist(grey), atol=1e-6)


@pytest.mark.parametrize("convert", [
    lambda g: np.stack([g] * 3, axis=-1),                                   # RGB
    lambda g: np.dstack([np.stack([g] * 3, -1), np.full(g.shape, 255, np.uint8)]),  # opaque RGBA
    lambda g: g.astype(np.float32) / 255,                                   # float 0..1
    lambda g: g.astype(np.float64),                                         # float 0..255
    lambda g: g.astype(np.uint16) * 257,                                    # 16-bit
    lambda g: g[..., None],                                                 # (H, W, 1)
])
def test_every_input_kind_gives_the_same_digit(convert):
    grey = drawn_seven()
    np.testing.assert_allclose(canvas_to_mnist(convert(grey)), canvas_to_mnist(grey), atol=1e-5)


def test_mnist_digits_survive_the_round_trip(mnist):
    """An MNIST digit blown up to canvas size comes back close to itself."""
    errors = []
    for index in range(100):
        big = np.asarray(Image.fromarray(mnist.x_test[index]).resize((280, 280), Image.Resampling.BILINEAR))
        errors.append(np.abs(canvas_to_mnist(big) - mnist.x_test[index] / 255).mean())
    assert np.mean(errors) < 0.08


@pytest.mark.parametrize("image", [np.zeros((280, 280), np.uint8), np.full((280, 280), 255, np.uint8),
                                   np.zeros((280, 280, 4), np.uint8), np.full((50, 50), 0.5)])
def test_blank_input_raises_empty_drawing(image):
    with pytest.raises(EmptyDrawingError):
        canvas_to_mnist(image)
    assert issubclass(EmptyDrawingError, ValueError)


@pytest.mark.parametrize("image, message", [
    (np.zeros((2, 2, 2, 2)), "shape"),
    (np.zeros((10, 10, 5)), "shape"),
    (np.zeros((0, 10)), "empty"),
    (np.full((10, 10), np.nan), "NaN"),
    (np.zeros((9000, 10), np.uint8), "largest accepted side"),
    (np.array([["a", "b"]]), "cannot read"),
])
def test_unreadable_input_raises_a_clear_value_error(image, message):
    with pytest.raises(ValueError, match=message):
        canvas_to_mnist(image)


def test_noise_on_a_photo_background_is_not_ink(rng):
    image = drawn_seven(dark_on_light=True).astype(np.float32)
    image += rng.normal(0, 6, image.shape)       # paper grain
    clean = canvas_to_mnist(drawn_seven(dark_on_light=True))
    noisy = canvas_to_mnist(np.clip(image, 0, 255).astype(np.uint8))
    assert max(ink_box(noisy)) == 20
    assert np.abs(noisy - clean).mean() < 0.02
