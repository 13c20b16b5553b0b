"""The pen's trajectory as the pen reader reads it, and the canvas' own paths.

The Predict page's canvas (fabric.js) hands over each stroke as a `path`: `M x y`, then `Q` curves
through the midpoints of the pointer's positions, then `L` to the last one, in canvas pixels
(`fabric_strokes` reads them; `fabric_path` writes them, as the canvas does). A drawing's strokes,
in order, become POINTS points evenly spaced along the pen's whole path, pen-up jumps included, each
with FEATURES numbers (`features`): where it is, which way the pen moves, whether the pen is up.
"""

from __future__ import annotations

import numpy as np

POINTS = 98               # 98 points x 8 numbers = 784: the file's input is MNIST's flat shape
FEATURES = 8              # x, y, dx, dy, pen up, stroke start, stroke end, distance to the centre
CURVE_STEPS = 4           # points sampled on each of the canvas' quadratic curves
MAX_STROKES = 64          # more strokes than any digit has: the rest are ignored
MAX_COMMANDS = 20_000     # per drawing, against a crafted value; the canvas makes ~60 a stroke


class CanvasDataError(ValueError):
    """The canvas' json_data is not what the canvas sends."""


def _path_points(path, extremes: list | None = None) -> np.ndarray:
    """One fabric path (a list of [command, numbers...]) -> (n, 2) points in the path's own units:
    each `Q` curve sampled at CURVE_STEPS points, each `M` or `L` one point. `extremes` gets each
    curve's extreme points too (fabric's bounding box is the curves'). One NumPy pass per path: the
    page reads every drawing's paths."""
    rows, curve = [], []
    for command in path:
        if not isinstance(command, (list, tuple)) or not command or command[0] not in ("M", "Q", "L") \
                or len(command) != (5 if command[0] == "Q" else 3):
            raise CanvasDataError(f"unexpected path command {str(command)[:40]}")
        rows.append(command[1:] if command[0] == "Q" else command[1:] * 2)    # (control, end)
        curve.append(command[0] == "Q")
    try:
        values = np.array(rows, dtype=np.float64).reshape(-1, 4)
    except (TypeError, ValueError) as exc:
        raise CanvasDataError("bad numbers in a path") from exc
    if not np.isfinite(values).all():
        raise CanvasDataError("bad numbers in a path")
    control, end = values[:, :2], values[:, 2:]
    start = np.concatenate([end[:1], end[:-1]])                 # each command starts where the last ended
    curve = np.array(curve)
    curve[:1] = False                                           # a path's first command is a point
    t = np.linspace(0, 1, CURVE_STEPS + 1)[1:, None]
    points = ((1 - t) ** 2 * start[:, None] + 2 * (1 - t) * t * control[:, None] + t ** 2 * end[:, None])
    keep = np.zeros(points.shape[:2], bool)
    keep[curve] = True
    keep[:, -1] = True                                          # t = 1: the end of every command
    if extremes is not None and curve.any():
        s, c, e = start[curve], control[curve], end[curve]
        bend = s - 2 * c + e
        u = np.divide(s - c, bend, out=np.full(bend.shape, -1.0), where=np.abs(bend) > 1e-12)
        inside = (u > 0) & (u < 1)
        for axis in (0, 1):
            w = u[inside[:, axis], axis][:, None]
            extremes.extend((1 - w) ** 2 * s[inside[:, axis]] + 2 * (1 - w) * w * c[inside[:, axis]]
                            + w ** 2 * e[inside[:, axis]])
    return points[keep]


def fabric_strokes(json_data) -> list[np.ndarray]:
    """The canvas' json_data -> its pen strokes in order, each (n, 2) in canvas pixels (y down).
    Objects that are not paths (none, for a photo) give no strokes. A path the visitor moved or
    scaled with the canvas' edit tool is placed where it is shown: fabric keeps a path's points
    as drawn and centres them on (left, top), scaled by scaleX, scaleY."""
    if not json_data:
        return []
    objects = json_data.get("objects") if isinstance(json_data, dict) else None
    if not isinstance(objects, list):
        raise CanvasDataError("json_data holds no list of objects")
    strokes, commands = [], 0
    for item in objects[:MAX_STROKES]:
        if not isinstance(item, dict) or str(item.get("type", "")).lower() != "path" or not item.get("path"):
            continue
        if not isinstance(item["path"], list):
            raise CanvasDataError("a path that is not a list of commands")
        commands += len(item["path"])
        if commands > MAX_COMMANDS:
            raise CanvasDataError("too many path commands")
        extremes = []
        try:            # whatever a crafted value holds, it is refused as canvas data, never a crash
            points = _path_points(item["path"], extremes)
            bounds = np.concatenate([points, np.array(extremes, dtype=float).reshape(-1, 2)])
        except (TypeError, ValueError, AttributeError, IndexError, KeyError) as exc:
            raise CanvasDataError(f"bad path: {exc}") from exc
        centre = (bounds.min(axis=0) + bounds.max(axis=0)) / 2
        try:
            scale = np.array([float(item.get("scaleX", 1)), float(item.get("scaleY", 1))])
            shown = np.array([float(item.get("left", centre[0])), float(item.get("top", centre[1]))])
        except (TypeError, ValueError) as exc:
            raise CanvasDataError(f"bad placement: {exc}") from exc
        if not (np.isfinite(scale).all() and np.isfinite(shown).all()):
            raise CanvasDataError("bad placement")
        if np.abs(shown - centre).max() < 1 and (scale == 1).all():
            strokes.append(points)          # as drawn (fabric's bounds differ from these by < 1 px)
        else:
            strokes.append((points - centre) * scale + shown)
    return strokes


def fabric_path(points) -> list:
    """Pointer positions -> the path the canvas makes of them (fabric's PencilBrush: a quadratic
    curve to each midpoint, a line to the end). Training drawings go through it, as a visitor's do."""
    p = np.asarray(points, dtype=np.float64)
    if len(p) == 1:
        return [["M", *p[0]], ["L", *p[0]]]
    path = [["M", *p[0]]]
    for a, b in zip(p[1:-1], p[2:]):
        path.append(["Q", *a, *((a + b) / 2)])
    path.append(["L", *p[-1]])
    return path


def smoothed(stroke) -> np.ndarray:
    """A stroke as the canvas draws it (its path, sampled)."""
    return _path_points(fabric_path(stroke))


def features(strokes) -> np.ndarray:
    """Strokes in order (any units, y down) -> (POINTS, FEATURES) float32: POINTS points evenly
    spaced along the pen's path, jumps between strokes included; centred, the longer side scaled
    to 1 (the shape's proportions kept). All zeros when there is no stroke."""
    strokes = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes[:MAX_STROKES] if len(s)]
    out = np.zeros((POINTS, FEATURES), np.float32)
    if not strokes:
        return out
    every = np.concatenate(strokes)
    low, high = every.min(axis=0), every.max(axis=0)
    side = max(float((high - low).max()), 1e-6)
    chain, up, start, end = [], [], [], []
    for index, stroke in enumerate(strokes):
        stroke = (stroke - (low + high) / 2) / side
        chain.append(stroke)
        up += [index > 0] + [False] * (len(stroke) - 1)       # the segment into a point: a jump?
        start += [True] + [False] * (len(stroke) - 1)
        end += [False] * (len(stroke) - 1) + [True]
    chain = np.concatenate(chain)
    up, start, end = np.array(up), np.array(start), np.array(end)
    steps = np.linalg.norm(np.diff(chain, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    if along[-1] <= 1e-9:                                      # a dot: every point in one place
        along = np.linspace(0, 1, len(chain))
    spots = np.linspace(0, along[-1], POINTS)
    segment = np.clip(np.searchsorted(along, spots, side="right") - 1, 0, len(chain) - 2) if len(chain) > 1 \
        else np.zeros(POINTS, int)
    following = np.minimum(segment + 1, len(chain) - 1)
    share = np.clip((spots - along[segment]) / np.maximum(along[following] - along[segment], 1e-9), 0, 1)
    xy = chain[segment] + (chain[following] - chain[segment]) * share[:, None]
    delta = np.gradient(xy, axis=0) * POINTS / 4 if POINTS > 1 else np.zeros_like(xy)
    out[:, :2] = xy
    out[:, 2:4] = delta
    out[:, 4] = up[following] & (following != segment)
    near = np.abs(along[:, None] - spots[None, :]).argmin(axis=1)   # each tablet point's nearest sample
    out[near[start], 5] = 1
    out[near[end], 6] = 1
    out[:, 7] = np.linalg.norm(xy, axis=1)
    return out
