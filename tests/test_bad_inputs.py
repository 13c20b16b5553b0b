"""Odd and hostile pictures, and drawings that are not digits: clear messages, never a crash."""

import io
import struct
import zlib

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_core.predict import Reading
from mnist_core.preprocess import (MAX_UPLOAD_BYTES, EmptyDrawingError, ImageFileError,
                                   canvas_to_mnist, image_from_bytes)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def seven(size=200, ink=255, paper=0, mode="L"):
    image = Image.new(mode, (size, size), paper)
    ImageDraw.Draw(image).line([(50, 50), (150, 50), (90, 170)], fill=ink, width=16)
    return image


def test_png_and_jpeg_decode_to_the_same_digit():
    png = canvas_to_mnist(image_from_bytes(encode(seven(), "PNG")))
    jpeg = canvas_to_mnist(image_from_bytes(encode(seven(), "JPEG", quality=85)))
    assert np.abs(png - jpeg).mean() < 0.03


def test_sixteen_bit_image():
    wide = Image.fromarray(np.asarray(seven()).astype(np.uint16) * 257)
    decoded = image_from_bytes(encode(wide, "PNG"))
    assert decoded.dtype == np.uint8
    np.testing.assert_allclose(canvas_to_mnist(decoded), canvas_to_mnist(np.asarray(seven())), atol=0.02)


def test_cmyk_jpeg():
    cmyk = seven(mode="RGB", ink=(255, 255, 255), paper=(0, 0, 0)).convert("CMYK")
    decoded = image_from_bytes(encode(cmyk, "JPEG"))
    assert decoded.ndim == 2
    assert np.abs(canvas_to_mnist(decoded) - canvas_to_mnist(np.asarray(seven()))).mean() < 0.03


def test_palette_and_transparent_png():
    decoded = image_from_bytes(encode(seven().convert("P"), "PNG"))
    assert decoded.ndim == 2
    rgba = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    ImageDraw.Draw(rgba).line([(50, 50), (150, 50), (90, 170)], fill=(20, 20, 20, 255), width=16)
    transparent = image_from_bytes(encode(rgba, "PNG"))
    assert transparent.shape[2] == 4
    np.testing.assert_allclose(canvas_to_mnist(transparent), canvas_to_mnist(np.asarray(seven())), atol=1e-5)


def test_animated_gif_gives_its_first_frame():
    frames = [seven(), Image.new("L", (200, 200), 0)]
    payload = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    decoded = image_from_bytes(payload)
    assert canvas_to_mnist(decoded).max() > 0.5     # the "7", not the blank second frame


def test_truncated_png():
    payload = encode(seven(), "PNG")
    with pytest.raises(ImageFileError, match="^unreadable"):
        image_from_bytes(payload[: len(payload) // 2])


@pytest.mark.parametrize("payload", [b"GIF89a", b"\x00" * 100, b"<svg></svg>", b"PK\x03\x04zip"])
def test_not_a_picture(payload):
    with pytest.raises(ImageFileError, match="^unreadable"):
        image_from_bytes(payload)


def test_empty_and_oversized_files():
    with pytest.raises(ImageFileError, match="^empty"):
        image_from_bytes(b"")
    with pytest.raises(ImageFileError, match="^too_big"):
        image_from_bytes(b"\x89PNG" + bytes(MAX_UPLOAD_BYTES))


def bomb_png(width, height) -> bytes:
    """A valid PNG header claiming a huge image, with a tiny compressed body."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * (width + 1) * 16)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


@pytest.mark.parametrize("size", [(20000, 20000), (5000, 5000), (100000, 100000)])
def test_decompression_bomb_is_refused_from_its_header(size):
    payload = bomb_png(*size)
    assert len(payload) < 100_000
    with pytest.raises(ImageFileError, match="^(too_many_pixels|bomb)"):
        image_from_bytes(payload)


def test_tiny_images_are_refused():
    with pytest.raises(ImageFileError, match="^too_small"):
        image_from_bytes(encode(Image.new("L", (1, 1), 255), "PNG"))


# --- Drawings that are not digits ---------------------------------------------------------------

def canvas_with(draw_fn):
    """What the canvas component sends: RGBA, the ink in the alpha channel, transparent elsewhere."""
    image = Image.new("L", (280, 280), 0)
    draw_fn(ImageDraw.Draw(image))
    alpha = np.asarray(image)
    return np.dstack([np.zeros_like(alpha)] * 3 + [alpha])


def reading_of(image, probabilities=None):
    digit = canvas_to_mnist(image)
    probabilities = probabilities if probabilities is not None else np.eye(10)[3]
    return Reading(probabilities.astype(np.float32), digit)


def test_blank_canvas_is_empty_not_a_digit():
    with pytest.raises(EmptyDrawingError):
        canvas_to_mnist(np.zeros((280, 280, 4), np.uint8))


def english(problem) -> str:
    """What a visitor reading English is told (mnist_core gives codes; studio/ui/locales the words)."""
    import json
    words = json.loads((Path(__file__).resolve().parents[1] / "studio" / "ui" / "locales" / "en.json").read_text("utf-8"))
    return words[f"reading.{problem.code}"].format(**problem.values)


def test_single_dot_is_not_named_as_a_digit():
    dot = canvas_with(lambda d: d.ellipse([130, 130, 150, 150], fill=255))
    reading = reading_of(dot)
    assert not reading.sure and "dot or a scribble" in english(reading.problem)
    assert reading.problem.code == "too_much_ink" and reading.digit is None


def test_scribble_over_the_whole_canvas_is_not_named():
    rng = np.random.default_rng(0)
    points = [tuple(p) for p in rng.integers(10, 270, size=(80, 2))]
    scribble = canvas_with(lambda d: d.line(points, fill=255, width=25))
    reading = reading_of(scribble)
    assert not reading.sure and "scribble" in english(reading.problem)


def test_unsure_model_says_so_with_its_two_guesses():
    digit = canvas_with(lambda d: d.line([(70, 60), (210, 60), (130, 230)], fill=255, width=20))
    probabilities = np.array([0, 0, 0, 0, 0, 0, 0, 0.45, 0, 0.40], np.float32) + 0.0150
    reading = reading_of(digit, probabilities)
    assert not reading.sure and reading.problem.code == "unsure" and reading.digit is None
    assert "7" in english(reading.problem) and "9" in english(reading.problem)
    assert [d for d, _ in reading.top3[:2]] == [7, 9] and reading.guess == 7


def test_a_clear_digit_is_named():
    digit = canvas_with(lambda d: d.line([(70, 60), (210, 60), (130, 230)], fill=255, width=20))
    reading = reading_of(digit, np.eye(10)[7] * 0.97 + 0.003)
    assert reading.sure and reading.digit == 7


def test_inverted_drawing_reads_the_same(tutorial_model):
    from mnist_core.predict import Predictor
    model, _ = tutorial_model
    digit = canvas_with(lambda d: d.line([(70, 60), (210, 60), (130, 230)], fill=255, width=20))[..., 3]
    predictor = Predictor(model)
    normal = predictor.predict_proba(canvas_to_mnist(digit))   # a grey picture, light ink on dark
    inverted = predictor.predict_proba(canvas_to_mnist(255 - digit))
    np.testing.assert_allclose(normal, inverted, atol=1e-5)
    assert normal.argmax() == 7
