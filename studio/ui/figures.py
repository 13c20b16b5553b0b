"""Static figures with matplotlib: the note's own `plt.imshow`, and PNG / SVG files for slides.

Live charts stay Vega-Lite (studio.ui.charts). These are drawn with matplotlib's object API
(`Figure`, no pyplot), so the sessions' script threads share no global figure state. Chinese
labels need a CJK font: the first installed Noto Sans CJK (Debian: fonts-noto-cjk) is used.
matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

import functools
import io
import threading

import numpy as np

from .i18n import t

_setup = threading.Lock()


@functools.cache
def _matplotlib():
    with _setup:
        import matplotlib
        from matplotlib import font_manager
        cjk = sorted({f.name for f in font_manager.fontManager.ttflist
                      if "CJK" in f.name and "Sans" in f.name})
        if cjk:
            matplotlib.rcParams["font.sans-serif"] = [cjk[0], "DejaVu Sans"]
            matplotlib.rcParams["font.family"] = "sans-serif"
        matplotlib.rcParams["axes.unicode_minus"] = False   # the CJK fonts lack U+2212
        from matplotlib.figure import Figure
        return matplotlib, Figure


def has_cjk_font() -> bool:
    matplotlib, _ = _matplotlib()
    return "CJK" in matplotlib.rcParams["font.sans-serif"][0]


def note_digit(image: np.ndarray):
    """The note's figure, exactly: `plt.imshow(digit, cmap=plt.cm.binary)`."""
    matplotlib, Figure = _matplotlib()
    figure = Figure(figsize=(3.2, 3.2), dpi=100)
    axes = figure.subplots()
    axes.imshow(image, cmap=matplotlib.cm.binary)
    figure.tight_layout()
    return figure


def training_curves(history: dict, title: str):
    """Loss and accuracy per epoch (training, and validation when there is one)."""
    _, Figure = _matplotlib()
    figure = Figure(figsize=(8, 3.2), dpi=100)
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    for axes, metric in ((loss_axes, "loss"), (accuracy_axes, "accuracy")):
        for prefix, style in (("", "-o"), ("val_", "--s")):
            values = history.get(prefix + metric)
            if values:
                epochs = np.arange(1, len(values) + 1)
                axes.plot(epochs, values, style, label=t(f"figure.{prefix}series"))
        axes.set_xlabel(t("figure.epoch"))
        axes.set_ylabel(t(f"figure.{metric}"))
        axes.grid(alpha=0.3)
        axes.legend()
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def confusion_matrix(matrix: np.ndarray, title: str):
    _, Figure = _matplotlib()
    figure = Figure(figsize=(5.6, 5), dpi=100)
    axes = figure.subplots()
    axes.imshow(np.sqrt(matrix), cmap="Purples")
    high = np.sqrt(matrix).max() * 0.6
    for (row, column), count in np.ndenumerate(matrix):
        axes.text(column, row, str(count), ha="center", va="center", fontsize=8,
                  color="white" if np.sqrt(count) > high else "black")
    axes.set_xticks(range(10))
    axes.set_yticks(range(10))
    axes.set_xlabel(t("figure.predicted"))
    axes.set_ylabel(t("figure.true"))
    axes.set_title(title)
    figure.tight_layout()
    return figure


def sample_grid(images: np.ndarray, labels: np.ndarray, title: str, columns: int = 10):
    matplotlib, Figure = _matplotlib()
    rows = -(-len(images) // columns)
    figure = Figure(figsize=(columns * 0.9, rows * 1.05 + 0.5), dpi=100)
    grid = np.atleast_2d(figure.subplots(rows, columns))
    for axes, image, label in zip(grid.ravel(), images, labels):
        axes.imshow(image, cmap=matplotlib.cm.binary)
        axes.set_title(str(label), fontsize=9)
    for axes in grid.ravel():
        axes.axis("off")
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def as_file(figure, kind: str) -> bytes:
    """The figure as a PNG or SVG file."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format=kind, dpi=150 if kind == "png" else None)
    return buffer.getvalue()
