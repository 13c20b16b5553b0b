"""The held-out drawings (bench.heldout): repeatable, canvas-shaped, drawn by a hand that
shares nothing with the training writer, and read by the bundled model."""

import ast

import numpy as np

from bench import heldout
from mnist_core.drawings.canvas import CANVAS
from mnist_core.preprocess import canvas_to_mnist, plain_resize

from .conftest import ROOT


def imported_modules(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names |= {f"{node.module or ''}.{alias.name}".lstrip(".") for alias in node.names} | {node.module or ""}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return names


def test_the_held_out_hand_and_the_training_writer_never_import_each_other():
    core = ROOT / "mnist_core"
    assert not any("strokes" in name for name in imported_modules(ROOT / "bench" / "heldout.py"))
    for trainer in ("drawings/strokes.py", "training.py", "runs/corrections.py"):
        assert not any("heldout" in name for name in imported_modules(core / trainer)), trainer


def test_non_digits_are_repeatable_balanced_and_canvas_shaped():
    images, kinds = heldout.non_digits(36, seed=7)
    again, _ = heldout.non_digits(36, seed=7)
    np.testing.assert_array_equal(images, again)
    assert images.shape == (36, CANVAS, CANVAS) and images.dtype == np.uint8
    assert sorted(set(kinds)) == sorted(heldout.NON_DIGITS) and len(set(kinds)) * 2 == 36
    ink = (images > 0).mean(axis=(1, 2))
    assert ink.min() > 0.005 and ink.max() < 0.5          # a shape, not a blank or a blot
    assert not np.array_equal(images, heldout.non_digits(36, seed=8)[0])


def test_four_ways_draw_one_held_out_digit_thin_thick_small_large():
    rows, labels = heldout.four_ways(10, seed=3)
    assert rows.shape == (10, 4, CANVAS, CANVAS) and labels.tolist() == list(range(10))
    ink = (rows > 0).sum(axis=(2, 3))
    thin_small, thin_large, thick_small, thick_large = ink.T
    assert (thin_large > thin_small).all() and (thick_small > thin_small).all() and (thick_large > thin_large).all()


def test_preprocessing_matters_for_the_held_out_writers():
    """The page's preprocessing reads real pen digits far better than squashing the canvas."""
    from mnist_core import storage
    from mnist_core.predict import Predictor
    model, _ = storage.load_model(ROOT / "models" / "default.keras")
    predictor = Predictor(model)
    rows, labels = heldout.four_ways(100, seed=11)
    canvases = rows[:, 0]      # thin and small, anywhere on the canvas, as many visitors draw
    centred = predictor.predict(np.stack([canvas_to_mnist(image) for image in canvases]))
    plain = predictor.predict(np.stack([plain_resize(image) for image in canvases]))
    assert (centred == labels).mean() > (plain == labels).mean() + 0.2
