"""Step 2 of the tutorial: turn pixels into what the network reads.

`to_model_input` and `one_hot` are the tutorial's own preprocessing (divide by 255, one-hot labels).
`canvas_to_mnist` prepares a drawing or a photo the way MNIST itself was prepared (LeCun et al.):
crop to the ink, scale the longer side to 20 px keeping the aspect ratio, and centre the result in
28x28 by its centre of mass. One step more than LeCun's: the strokes are thinned to their centre
lines and redrawn with MNIST's pen, so a digit drawn with a thin or a fat brush, small or large,
reaches the network with the stroke width it learnt from. `canvas_to_mnist_steps` returns every
intermediate image, for the app's preprocessing inspector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

FRAME = 28   # MNIST's image size
BOX = 20     # MNIST digits were scaled to fit a 20x20 box inside the frame
# Where MNIST puts a digit's centre of mass, in pixel indices (row, col). Measured on the test set:
# the mean is (14.0, 14.0) and every digit lies within 0.5 px of it, i.e. LeCun's pipeline shifted
# by whole pixels towards index 14. Matching that, not the geometric 13.5, matches what the model saw.
CENTRE = 14.0
MAX_SIDE = 8192
MIN_INK_CONTRAST = 0.08      # below this (on a 0..1 scale) nothing is drawn
INK_THRESHOLD = 0.15         # fraction of the ink's strength that counts towards its bounding box


class EmptyDrawingError(ValueError):
    """There is no ink in the image: nothing to read."""


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 pixels 0..255 -> float32 in [0, 1], the tutorial's `/ 255`."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels 0..255, got {images.dtype}")
    return images.astype(np.float32) / np.float32(255)


# The label of a drawing that is no digit (a letter, a symbol, a scribble). It is trained towards
# "every digit equally likely" (outlier exposure, Hendrycks et al. 2019): see `soft_targets`.
NOT_A_DIGIT = 10


def soft_targets(labels: np.ndarray) -> np.ndarray:
    """Labels 0-9 or NOT_A_DIGIT -> float32 training targets: one-hot rows for digits, 1/10 in
    every column for a non-digit."""
    labels = np.asarray(labels)
    targets = np.eye(NOT_A_DIGIT + 1, dtype=np.float32)[labels][..., :NOT_A_DIGIT]
    targets[labels == NOT_A_DIGIT] = 1 / NOT_A_DIGIT
    return targets


def one_hot(labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Integer labels -> float32 one-hot rows, like keras.utils.to_categorical."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError("labels must be a 1-D array of integers")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in 0..{num_classes - 1}")
    return np.eye(num_classes, dtype=np.float32)[labels]


@dataclass(frozen=True)
class PreprocessSteps:
    """Each stage of canvas_to_mnist, all float32 with ink = 1.0 on background = 0.0."""
    ink: np.ndarray        # the whole input as ink strength, full size
    bbox: tuple            # (top, bottom, left, right) of the ink, bottom/right exclusive
    cropped: np.ndarray    # the ink's bounding box
    centre_line: np.ndarray  # the strokes thinned to one pixel (bool), at the working size
    scaled: np.ndarray     # redrawn with MNIST's pen, longer side 20 px
    centred: np.ndarray    # 28x28, centre of mass at the centre: what the model sees
    plain_resize: np.ndarray  # the naive alternative: the whole input squashed to 28x28


def ink_strength(image) -> np.ndarray:
    """Any grey, RGB or RGBA image -> float32 (H, W) where 1.0 is full ink and 0.0 is background.

    Transparent-background RGBA (what the canvas gives) carries its ink in the alpha channel.
    Otherwise the background is whatever dominates the image's border, so dark-on-light and
    light-on-dark inputs give the same result.
    """
    array = np.asarray(image)
    if array.dtype == object or array.dtype == bool:
        array = array.astype(np.float32)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"cannot read an image of type {array.dtype}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ValueError(f"expected a grey (H, W), RGB (H, W, 3) or RGBA (H, W, 4) image, "
                         f"got an array of shape {array.shape}")
    height, width = array.shape[:2]
    if height < 1 or width < 1:
        raise ValueError("the image is empty")
    if max(height, width) > MAX_SIDE:
        raise ValueError(f"the image is {width}x{height}; the largest accepted side is {MAX_SIDE} px")
    pixels = array.astype(np.float32)
    if not np.isfinite(pixels).all():
        raise ValueError("the image holds NaN or infinite values")
    scale = _value_scale(array)
    pixels /= scale
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        alpha = pixels[:, :, 3]
        if alpha.min() < 0.99:       # a transparent background: ink lives in the alpha channel
            return np.clip(alpha, 0, 1)
        pixels = pixels[:, :, :3]
    grey = pixels if pixels.ndim == 2 else pixels @ np.array([0.299, 0.587, 0.114], np.float32)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if float(np.median(border)) < 0.5:
        grey = 1 - grey                     # light ink on dark: turn it into dark on light
    if min(grey.shape) <= PHOTO_MIN_SIDE:   # a digit image, not a photo: one global background
        return np.clip(_global_background(grey) - grey, 0, 1).astype(np.float32)
    return photo_ink(grey)


# --- Photos -----------------------------------------------------------------------------------------

PHOTO_MIN_SIDE = 64       # pictures at most this small are digit images, not photos
PHOTO_SIDE = 512          # photos are reduced to this (longer side) first: enough for a 28x28 digit
PAPER_WINDOW = 1 / 3      # paper brightness is measured over windows this share of the shorter side
BORDER_INK = 0.2          # ink touching the border is dropped when the rest holds this share of it


def _global_background(grey: np.ndarray) -> float:
    return float(np.median(np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])))


def photo_ink(grey: np.ndarray) -> np.ndarray:
    """Dark-on-light photo (float32 0..1) -> ink strength, without its shadows and paper edges.

    The paper's own brightness is measured locally (a grey closing: the picture with every dark
    mark narrower than the window filled in), so a shadow or uneven light is paper, not ink. Ink
    that touches the picture's border (a table beyond the paper, a finger, a shadow's edge) is
    dropped when enough ink lies clear of the border: that is the digit.
    """
    from scipy import ndimage
    if max(grey.shape) > PHOTO_SIDE:
        factor = PHOTO_SIDE / max(grey.shape)
        grey = _resize(grey, (max(1, round(grey.shape[1] * factor)), max(1, round(grey.shape[0] * factor))))
    window = max(3, round(min(grey.shape) * PAPER_WINDOW))
    paper = ndimage.grey_closing(grey, size=(window, window))
    ink = np.clip(paper - grey, 0, 1).astype(np.float32)
    if ink.max() <= 0:
        return ink
    marks, count = ndimage.label(ink > 0.35 * ink.max())
    edge = set(np.unique(np.concatenate([marks[0], marks[-1], marks[:, 0], marks[:, -1]]))) - {0}
    if edge and len(edge) < count:
        touching = np.isin(marks, list(edge))
        clear = (marks > 0) & ~touching
        if ink[clear].sum() >= BORDER_INK * ink[marks > 0].sum():
            ink[ndimage.binary_dilation(touching, iterations=2)] = 0
    return ink


def _value_scale(array: np.ndarray) -> float:
    if np.issubdtype(array.dtype, np.integer):
        return float(np.iinfo(array.dtype).max) if array.dtype != np.uint8 else 255.0
    peak = float(np.nanmax(np.abs(array))) if array.size else 0.0
    return 255.0 if peak > 1.0 else 1.0   # floats are 0..1, unless they are plainly 0..255


def canvas_to_mnist_steps(image) -> PreprocessSteps:
    ink = ink_strength(image)
    strength = float(ink.max())
    if strength < MIN_INK_CONTRAST:
        raise EmptyDrawingError("There is no ink in the image: draw or upload a digit first.")
    ink = ink / strength                       # faint pencil and bold marker read alike
    ink[ink < INK_THRESHOLD] = 0.0             # paper texture and JPEG noise are not ink
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    bbox = (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)
    cropped = ink[bbox[0]:bbox[1], bbox[2]:bbox[3]]

    centre_line, width = centre_line_of(cropped)
    if centre_line is not None:
        scaled = draw_centre_line(centre_line, PEN_WIDTH)
    else:   # a dot or a blob: scale it like LeCun did (Reading says why if it is no digit)
        height, width = cropped.shape
        factor = BOX / max(height, width)
        scaled = _resize(cropped, (max(1, round(width * factor)), max(1, round(height * factor))))
        centre_line = np.zeros((1, 1), bool)

    centred = _centre_by_mass(scaled)
    plain = _resize(ink, (FRAME, FRAME))
    return PreprocessSteps(ink=ink, bbox=bbox, cropped=cropped, centre_line=centre_line,
                           scaled=scaled, centred=centred, plain_resize=plain)


# --- Stroke normalisation ------------------------------------------------------------------------

# The pen drawings are redrawn with, in pixels of the 28x28 frame. Measured as ink over centre-line
# length, MNIST's strokes are 2.0-4.1 px (10th-90th percentile, median 2.8); this pen measures ~3.6
# that way (its round caps count): on MNIST's bold side, where thin drawings stay readable.
PEN_WIDTH = 2.8
WORK_SIDE = 96     # the ink is thinned at this size: fine enough for an 8 px brush on the canvas
# A stroke wider than this share of the drawing's longer side has filled the loops it drew (a small
# 8 with a fat brush is a blob): its centre line would be a different shape, so it is scaled as
# it is, a bold digit like MNIST's boldest (whose strokes are up to ~0.2 of the 20 px box).
BOLD = 0.22
SUPERSAMPLE = 4    # the pen draws at 4x and is area-averaged down: anti-aliased like MNIST


def centre_line_of(ink: np.ndarray) -> tuple[np.ndarray | None, float]:
    """The one-pixel centre line of the ink (bool, longer side WORK_SIDE) and the stroke width in
    its pixels; (None, width) for a dot or a BOLD drawing, which are scaled as they are."""
    from scipy import ndimage
    from skimage.morphology import skeletonize
    height, width = ink.shape
    factor = WORK_SIDE / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    mask = np.pad(_resize(ink, size) >= 0.4, 2)
    if not mask.any():      # hairline ink that vanished when scaled: thicken it instead
        mask = np.pad(_resize(ink, size) > 0, 2)
    line = skeletonize(mask)
    if not line.any():
        return None, 0.0
    stroke_width = 2 * float(ndimage.distance_transform_edt(mask)[line].mean())
    if stroke_width > BOLD * WORK_SIDE:
        return None, stroke_width
    rows, cols = np.flatnonzero(line.any(axis=1)), np.flatnonzero(line.any(axis=0))
    line = line[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    if max(line.shape) < 1.5 * stroke_width:
        return None, stroke_width
    return line, stroke_width


def draw_centre_line(line: np.ndarray, pen_width: float) -> np.ndarray:
    """Redraw a centre line with a round pen `pen_width` px wide so that, pen included, its
    longer side is BOX px: float32 in [0, 1]."""
    from PIL import ImageDraw
    factor = (BOX - pen_width) / max(max(line.shape) - 1, 1)
    height = int(np.ceil((line.shape[0] - 1) * factor + pen_width))
    width = int(np.ceil((line.shape[1] - 1) * factor + pen_width))
    picture = Image.new("L", (width * SUPERSAMPLE, height * SUPERSAMPLE), 0)
    pen = ImageDraw.Draw(picture)
    scale, radius = factor * SUPERSAMPLE, pen_width * SUPERSAMPLE / 2

    def where(y, x):
        return x * scale + radius, y * scale + radius

    for y, x in zip(*np.nonzero(line)):
        cx, cy = where(y, x)
        pen.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=255)
        for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):   # join to each neighbour once
            ny, nx = y + dy, x + dx
            if 0 <= ny < line.shape[0] and 0 <= nx < line.shape[1] and line[ny, nx]:
                pen.line([where(y, x), where(ny, nx)], fill=255, width=round(2 * radius))
    small = picture.resize((width, height), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255


def canvas_to_mnist(image) -> np.ndarray:
    """A drawing or photo of one digit -> (28, 28) float32 in [0, 1], ink bright on dark."""
    return canvas_to_mnist_steps(image).centred


def plain_resize(image) -> np.ndarray:
    """The naive alternative: the whole image squashed to 28x28 (for comparison in the app)."""
    return canvas_to_mnist_steps(image).plain_resize


def _resize(ink: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    # Pillow's area-averaging filter anti-aliases like MNIST's own normalisation did.
    shrinking = size[0] < ink.shape[1]
    resample = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    resized = Image.fromarray(np.ascontiguousarray(ink, dtype=np.float32)).resize(size, resample)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def _centre_by_mass(digit: np.ndarray) -> np.ndarray:
    """Place `digit` in a 28x28 frame so that its centre of mass lands on the frame's centre."""
    height, width = digit.shape
    total = float(digit.sum())
    ys, xs = np.indices(digit.shape)
    com_y, com_x = float((ys * digit).sum() / total), float((xs * digit).sum() / total)
    top, left = int(round(CENTRE - com_y)), int(round(CENTRE - com_x))
    frame = np.zeros((FRAME, FRAME), np.float32)
    # Clip the paste to the frame; only a digit with its mass far off-centre loses an edge.
    src_top, src_left = max(0, -top), max(0, -left)
    dst_top, dst_left = max(0, top), max(0, left)
    rows = min(height - src_top, FRAME - dst_top)
    cols = min(width - src_left, FRAME - dst_left)
    frame[dst_top:dst_top + rows, dst_left:dst_left + cols] = \
        digit[src_top:src_top + rows, src_left:src_left + cols]
    return frame


# How much ink a real MNIST digit has: mean pixel of the 28x28 input. Outside this range the input is
# a dot blown up to a blob or a scribble, not a digit (see digit_likeness and the app's "unsure" message).
# Measured on the training set: 0.1th percentile 0.036, 99.99th percentile 0.34 (6 of 60,000 digits
# above it), max 0.40. A dot blown up to 20 px has 0.39, a scribble more.
MNIST_INK_RANGE = (0.025, 0.34)


def ink_fraction(mnist_image: np.ndarray) -> float:
    return float(np.mean(mnist_image))


# --- Uploaded pictures ----------------------------------------------------------------------------

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_PIXELS = 4096 * 4096      # more than any photo of a digit needs; bigger is a bomb


class ImageFileError(ValueError):
    """An uploaded file that is not a usable picture: `code` says why, `values` fill the message
    (the catalogue's `image_file.<code>`); str() is the code and values, for logs."""

    def __init__(self, code: str, **values):
        self.code, self.values = code, values
        super().__init__(f"{code} {values}" if values else code)


def image_from_bytes(payload: bytes) -> np.ndarray:
    """Decode an uploaded PNG/JPEG/GIF/... into a uint8 grey or RGBA array, refusing anything odd.

    Decompression bombs are refused from the header, before any pixel is decoded; animated images
    give their first frame; 16-bit, CMYK and palette images are converted.
    """
    import io
    import warnings

    if not payload:
        raise ImageFileError("empty")
    if len(payload) > MAX_UPLOAD_BYTES:
        raise ImageFileError("too_big", mib=len(payload) / 2**20, limit=MAX_UPLOAD_BYTES // 2**20)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(payload)) as picture:
                width, height = picture.size
                if width * height > MAX_UPLOAD_PIXELS:
                    raise ImageFileError("too_many_pixels", width=width, height=height,
                                         limit=MAX_UPLOAD_PIXELS // 10**6)
                picture.seek(0)                    # the first frame of an animation
                picture.load()
                converted = _to_grey_or_rgba(picture)
    except ImageFileError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageFileError("bomb") from exc
    except Exception as exc:   # Pillow raises many kinds for broken or unknown files
        raise ImageFileError("unreadable") from exc
    if min(converted.shape[:2]) < 8:
        raise ImageFileError("too_small", width=converted.shape[1], height=converted.shape[0])
    return converted


def _to_grey_or_rgba(picture: Image.Image) -> np.ndarray:
    if picture.mode in ("I;16", "I;16B", "I;16L", "I"):
        wide = np.asarray(picture, dtype=np.float64)
        top = wide.max() or 1.0
        return np.round(wide / top * 255).astype(np.uint8)
    has_alpha = picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info
    return np.asarray(picture.convert("RGBA" if has_alpha else "L"))
