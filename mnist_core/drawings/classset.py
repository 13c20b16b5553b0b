"""A class's own handwriting (issue #28) as data: the canvas' strokes made safe to keep, every model
measured on the class's drawings, and the set written to (and read from) an `.npz` for a notebook.

A drawing is kept as the canvas gave it: its Fabric.js paths (`json_data`, allow-listed here) and the
28x28 the models read (uint8, from `canvas_to_mnist`). No Streamlit here; refusals are codes
(DrawingRefused.code) that studio translates.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np

from mnist_core.runstore import bounds

from .canvas import CANVAS

PATH_COMMANDS = {"M": 2, "L": 2, "Q": 4, "C": 6, "Z": 0}   # Fabric's pencil paths: numbers per command
STROKE_FIELDS = ("left", "top", "strokeWidth")              # numbers kept beside each path
CONFIDENT_MISREADS = 8                                      # the misreads a model view shows
_MARGIN = CANVAS                                            # a point may lie this far off the canvas


class DrawingRefused(ValueError):
    """A drawing the class set does not take: `code` says why, `values` fill the message."""

    def __init__(self, code: str, **values):
        self.code, self.values = code, values
        super().__init__(f"{code} {values}" if values else code)


def _number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not -_MARGIN <= value <= CANVAS + _MARGIN:
        raise DrawingRefused("not_a_canvas")
    return round(float(value), 2)


def clean_strokes(json_data) -> dict:
    """The canvas' `json_data` -> {"objects": [{"type": "path", "path": [...], ...}]}: only pen
    paths, only the commands and numbers a pencil makes, within bounds.MAX_STROKES /
    MAX_STROKE_POINTS. Anything else (text, images, scripts, NaN, a huge path) -> DrawingRefused."""
    if not isinstance(json_data, dict) or not isinstance(json_data.get("objects"), list):
        raise DrawingRefused("not_a_canvas")
    objects = json_data["objects"]
    if len(objects) > bounds.MAX_STROKES:
        raise DrawingRefused("too_many_strokes", limit=bounds.MAX_STROKES)
    kept, points = [], 0
    for item in objects:
        if not isinstance(item, dict) or str(item.get("type", "")).lower() != "path" \
                or not isinstance(item.get("path"), list):
            raise DrawingRefused("not_a_canvas")
        path = []
        for command in item["path"]:
            if not isinstance(command, list) or not command or command[0] not in PATH_COMMANDS \
                    or len(command) != 1 + PATH_COMMANDS[command[0]]:
                raise DrawingRefused("not_a_canvas")
            path.append([command[0], *(_number(v) for v in command[1:])])
        points += len(path)
        if points > bounds.MAX_STROKE_POINTS:
            raise DrawingRefused("too_many_strokes", limit=bounds.MAX_STROKES)
        kept.append({"type": "path", "path": path,
                     **{name: _number(item[name]) for name in STROKE_FIELDS if name in item}})
    if not kept:
        raise DrawingRefused("blank")
    return {"objects": kept}


def image_bytes(image) -> bytes:
    """A 28x28 in [0, 1] (canvas_to_mnist) or uint8 -> its 784 bytes; DrawingRefused("blank")
    when it holds no ink, "not_a_canvas" when it is no 28x28."""
    image = np.asarray(image)
    if image.shape != (28, 28) or image.dtype.kind not in "fui":
        raise DrawingRefused("not_a_canvas")
    if image.dtype.kind == "f":
        if not np.isfinite(image).all():
            raise DrawingRefused("not_a_canvas")
        image = np.round(np.clip(image, 0.0, 1.0) * 255)
    elif image.min() < 0 or image.max() > 255:
        raise DrawingRefused("not_a_canvas")
    image = image.astype(np.uint8)
    if not image.any():
        raise DrawingRefused("blank")
    return image.tobytes()


def check_label(label) -> int:
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label <= 9:
        raise DrawingRefused("label_out_of_range")
    return int(label)


# --- Training on it (issue #28, item 4) ----------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ClassDrawings:
    """A class's drawings added to a run's training data (RunSpec.class_set): uint8 (n, 28, 28)
    images and labels. `identity` (a digest of both) is what names them in the run's identity and
    metadata; two sets with the same identity are the same set."""
    images: np.ndarray
    labels: np.ndarray
    identity: str

    @classmethod
    def of(cls, images, labels) -> "ClassDrawings":
        import hashlib
        images = np.ascontiguousarray(images, dtype=np.uint8).reshape(-1, 28, 28)
        labels = np.ascontiguousarray(labels, dtype=np.int64)
        if len(images) != len(labels) or not len(labels) or labels.min() < 0 or labels.max() > 9:
            raise ValueError("a class set is one label 0-9 for each 28x28 image, at least one")
        digest = hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()[:16]
        return cls(images, labels, f"class-{len(labels)}-{digest}")

    def __len__(self) -> int:
        return len(self.labels)

    def __eq__(self, other) -> bool:
        return isinstance(other, ClassDrawings) and other.identity == self.identity

    def __hash__(self) -> int:
        return hash(self.identity)

    def __repr__(self) -> str:
        return f"ClassDrawings({self.identity})"


# --- Every model measured on the class's drawings ------------------------------------------------

@dataclass(frozen=True)
class Measure:
    """One model on one version of a class's set: what it said for each drawing, and the sums."""
    version: str
    predicted: np.ndarray        # (n,) the digit it names (its argmax)
    confidence: np.ndarray       # (n,) its top probability
    labels: np.ndarray           # (n,)

    @property
    def count(self) -> int:
        return len(self.labels)

    @property
    def accuracy(self) -> float:
        return float((self.predicted == self.labels).mean()) if self.count else float("nan")

    def per_digit(self) -> np.ndarray:
        """(10,) accuracy on each digit's drawings (NaN for a digit nobody drew)."""
        right = np.bincount(self.labels, self.predicted == self.labels, minlength=10)
        drawn = np.bincount(self.labels, minlength=10)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(drawn > 0, right / np.maximum(drawn, 1), np.nan)

    def confident_misreads(self, k: int = CONFIDENT_MISREADS) -> np.ndarray:
        """Indices of the misread drawings, the most confidently wrong first (at most k)."""
        wrong = np.flatnonzero(self.predicted != self.labels)
        return wrong[np.argsort(-self.confidence[wrong], kind="stable")][:k]


def measure(predictor, images: np.ndarray, labels: np.ndarray, version: str) -> Measure:
    """One batch through `predictor` (mnist_core.predict.Predictor): images (n, 28, 28) uint8."""
    labels = np.asarray(labels, dtype=np.int64)
    if not len(labels):
        return Measure(version, np.zeros(0, np.int64), np.zeros(0, np.float32), labels)
    probabilities = predictor.predict_proba(np.asarray(images, dtype=np.float32) / 255)
    return Measure(version, probabilities.argmax(axis=1), probabilities.max(axis=1), labels)


# --- The set for a notebook ----------------------------------------------------------------------

def to_npz(images, labels, strokes, learners, ids) -> bytes:
    """The set as an .npz: images (n, 28, 28) uint8, labels (n,), learner (n,) numbered within
    the class, id (n,), and strokes (n,) as JSON text (np.load(..., allow_pickle=False) reads it)."""
    import json
    buffer = io.BytesIO()
    np.savez_compressed(buffer, images=np.asarray(images, dtype=np.uint8).reshape(-1, 28, 28),
                        labels=np.asarray(labels, dtype=np.int64), learner=np.asarray(learners, dtype=np.int64),
                        id=np.asarray(ids, dtype=np.int64),
                        strokes=np.array([json.dumps(s, separators=(",", ":")) for s in strokes], dtype=np.str_))
    return buffer.getvalue()


def from_npz(payload: bytes) -> dict:
    """An exported set read back: the arrays by name, strokes parsed (no pickles are loaded)."""
    import json
    with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["strokes"] = [json.loads(text) for text in arrays["strokes"]]
    return arrays


def readings_csv(ids, labels, said: dict) -> str:
    """What each model said about each drawing: id, label, then <model> and <model> confidence."""
    import csv
    out = io.StringIO()
    writer = csv.writer(out)
    names = list(said)
    writer.writerow(["id", "label", *[_cell(column) for name in names
                                      for column in (name, f"{name} confidence")]])
    for row, (drawing, label) in enumerate(zip(ids, labels)):
        writer.writerow([int(drawing), int(label), *[value for name in names for value in
                                                      (int(said[name].predicted[row]),
                                                       f"{float(said[name].confidence[row]):.4f}")]])
    return out.getvalue()


def _cell(text: str) -> str:
    """A typed name as a CSV cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
