"""Step 1 of the tutorial: load MNIST as uint8 arrays.

Lookup order: the `path` argument, the MNIST_DATA environment variable, the Keras cache
(~/.keras/datasets/mnist.npz), then the same download Keras itself does. The download is done
here with urllib rather than through `keras.datasets` so that looking at the data never imports
TensorFlow.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import tempfile
import urllib.request
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ENV_VAR = "MNIST_DATA"
KERAS_CACHE = Path("~/.keras/datasets/mnist.npz")
KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801

# The four original files: (name stem, expected count, SHA-256 of the decompressed bytes).
IDX_FILES = {
    "x_train": ("train-images-idx3-ubyte", 60000,
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "y_train": ("train-labels-idx1-ubyte", 60000,
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "x_test": ("t10k-images-idx3-ubyte", 10000,
               "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "y_test": ("t10k-labels-idx1-ubyte", 10000,
               "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}

# A standard file is 47 MB decompressed; anything far larger is not MNIST (or is a gzip bomb).
MAX_IDX_BYTES = 64 * 1024 * 1024
HOW_TO_FIX = (f"Set {ENV_VAR} to a folder holding the four MNIST IDX files "
              "(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
              "t10k-labels-idx1-ubyte.gz) or to a Keras mnist.npz file.")


class MnistDataError(Exception):
    """MNIST could not be loaded; the message says why and what to do."""


@dataclass(frozen=True)
class MnistData:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str                 # where exactly, for logs and the command line
    origin: str = "local"       # "local" (a path or MNIST_DATA), "keras_cache" or "download"


def load_mnist(path: str | os.PathLike | None = None) -> MnistData:
    """Return MNIST, loading it once per process for each place it comes from.

    The arrays are read-only because one copy is shared by every caller (and every app session).
    """
    if path is not None:
        return _load_cached(_resolve(path), "local")
    env = os.environ.get(ENV_VAR)
    if env:
        return _load_cached(_resolve(env), "local")
    cache = KERAS_CACHE.expanduser()
    if cache.is_file():
        return _load_cached(str(cache), "keras_cache")
    return _load_cached(None, "download")


def _resolve(path) -> str:
    resolved = Path(path).expanduser().resolve()
    if not resolved.exists():
        raise MnistDataError(f"{resolved} does not exist. {HOW_TO_FIX}")
    return str(resolved)


@functools.lru_cache(maxsize=4)
def _load_cached(path: str | None, origin: str) -> MnistData:
    if path is None:
        path = str(_download())
    if os.path.isdir(path):
        data = _load_idx_folder(Path(path))
    else:
        data = _load_npz(Path(path))
    data = dataclasses.replace(data, origin=origin)
    for array in (data.x_train, data.y_train, data.x_test, data.y_test):
        array.setflags(write=False)
    return data


# --- IDX files -----------------------------------------------------------------------------------

def _load_idx_folder(folder: Path) -> MnistData:
    # zlib releases the GIL, so the four files decompress side by side.
    with ThreadPoolExecutor(max_workers=4) as pool:
        raws = dict(zip(IDX_FILES, pool.map(lambda stem: _read_idx_bytes(folder, stem),
                                            [stem for stem, _, _ in IDX_FILES.values()])))
    arrays = {}
    for key, (stem, count, sha256) in IDX_FILES.items():
        # Structure first (its messages are the most specific), then the published checksum.
        arrays[key] = parse_idx(raws[key], name=stem, expected_count=count)
        if hashlib.sha256(raws[key]).hexdigest() != sha256:
            raise MnistDataError(
                f"{stem} in {folder} is not the standard MNIST file (its SHA-256 checksum differs): "
                f"it is damaged or a different dataset. Download it again. {HOW_TO_FIX}")
    return MnistData(source=f"IDX files in {folder}", **arrays)


def _read_idx_bytes(folder: Path, stem: str) -> bytes:
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx") + ".gz", stem.replace("-idx", ".idx")):
        candidate = folder / name
        if candidate.is_file():
            break
    else:
        raise MnistDataError(f"{stem}.gz is missing from {folder}. {HOW_TO_FIX}")
    try:
        if candidate.stat().st_size > MAX_IDX_BYTES:
            raise MnistDataError(f"{candidate} is far too large to be an MNIST file.")
        raw = candidate.read_bytes()
        return gunzip_limited(raw, name=str(candidate)) if candidate.suffix == ".gz" else raw
    except (OSError, zlib.error) as exc:
        raise MnistDataError(f"{candidate} could not be read ({exc}): it is truncated or corrupt. "
                             f"Download it again. {HOW_TO_FIX}") from exc


def gunzip_limited(compressed: bytes, *, name: str) -> bytes:
    """Decompress one gzip member, refusing output beyond MAX_IDX_BYTES (a gzip bomb)."""
    inflater = zlib.decompressobj(wbits=31)
    raw = inflater.decompress(compressed, MAX_IDX_BYTES + 1)
    if len(raw) > MAX_IDX_BYTES:
        raise MnistDataError(f"{name} decompresses to more than {MAX_IDX_BYTES // 2**20} MiB: "
                             "it is not an MNIST file.")
    if not inflater.eof:
        raise MnistDataError(f"{name} is truncated (the compressed stream ends early). "
                             f"Download it again. {HOW_TO_FIX}")
    return raw


def parse_idx(raw: bytes, *, name: str = "IDX file", expected_count: int | None = None) -> np.ndarray:
    """Parse one IDX file (images or labels) into a uint8 array, checking everything it claims."""
    if len(raw) < 8:
        raise MnistDataError(f"{name} is truncated: {len(raw)} bytes, not even a header.")
    magic = int.from_bytes(raw[0:4], "big")
    count = int.from_bytes(raw[4:8], "big")
    if magic == IMAGES_MAGIC:
        if len(raw) < 16:
            raise MnistDataError(f"{name} is truncated: the image header is incomplete.")
        rows, cols = int.from_bytes(raw[8:12], "big"), int.from_bytes(raw[12:16], "big")
        shape, offset = (count, rows, cols), 16
        if (rows, cols) != (28, 28):
            raise MnistDataError(f"{name} holds {rows}x{cols} images; MNIST images are 28x28.")
    elif magic == LABELS_MAGIC:
        shape, offset = (count,), 8
    else:
        raise MnistDataError(f"{name} does not start with an IDX magic number for uint8 images or "
                             f"labels (found 0x{magic:08x}): it is not an MNIST file.")
    if expected_count is not None and count != expected_count:
        raise MnistDataError(f"{name} says it holds {count} items; MNIST's holds {expected_count}.")
    expected_bytes = offset + int(np.prod(shape))
    if len(raw) != expected_bytes:
        raise MnistDataError(f"{name} has {len(raw)} bytes but its header promises {expected_bytes}: "
                             "it is truncated or corrupt. Download it again.")
    array = np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape)
    if magic == LABELS_MAGIC and array.size and array.max() > 9:
        raise MnistDataError(f"{name} holds labels above 9: it is not MNIST.")
    return array


# --- Keras' mnist.npz ----------------------------------------------------------------------------

def _load_npz(path: Path) -> MnistData:
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in ("x_train", "y_train", "x_test", "y_test")}
    except KeyError as exc:
        raise MnistDataError(f"{path} is not a Keras mnist.npz (missing {exc}). {HOW_TO_FIX}") from exc
    except (OSError, ValueError, zlib.error, EOFError) as exc:
        raise MnistDataError(f"{path} could not be read ({exc}): it is corrupt or not a "
                             f"Keras mnist.npz. {HOW_TO_FIX}") from exc
    for key, (_, count, _) in IDX_FILES.items():
        array = arrays[key]
        expected = (count, 28, 28) if key.startswith("x") else (count,)
        if array.shape != expected or array.dtype != np.uint8:
            raise MnistDataError(f"{path}: {key} is {array.dtype}{array.shape}, expected "
                                 f"uint8{expected}. It is not a Keras mnist.npz.")
    return MnistData(source=f"Keras file {path}", **arrays)


def _download(url: str | None = None) -> Path:
    """Fetch mnist.npz into the Keras cache, as keras.datasets.mnist.load_data() would."""
    url = url or os.environ.get("MNIST_STUDIO_DOWNLOAD_URL", KERAS_URL)
    target = KERAS_CACHE.expanduser()
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            payload = response.read(64 * 1024 * 1024)
    except OSError as exc:
        raise MnistDataError(f"MNIST is not on this machine and could not be downloaded from {url} "
                             f"({exc}). {HOW_TO_FIX}") from exc
    if hashlib.sha256(payload).hexdigest() != KERAS_NPZ_SHA256:
        raise MnistDataError(f"The file downloaded from {url} is not the expected mnist.npz "
                             f"(checksum mismatch). {HOW_TO_FIX}")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so that a crash never leaves half a file in the cache.
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
        tmp.write(payload)
    os.replace(tmp.name, target)
    return target


def describe(data: MnistData) -> dict:
    """The tutorial's "look at the arrays" step: shapes and dtypes as they really are."""
    return {name: f"{getattr(data, name).dtype} {getattr(data, name).shape}"
            for name in ("x_train", "y_train", "x_test", "y_test")}


def class_counts(labels: np.ndarray) -> np.ndarray:
    return np.bincount(labels, minlength=10)


def mean_images(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The average picture of each digit, (10, 28, 28) float32 in [0, 255]."""
    return np.stack([images[labels == digit].mean(axis=0, dtype=np.float64).astype(np.float32)
                     for digit in range(10)])


__all__ = ["MnistData", "MnistDataError", "load_mnist", "parse_idx", "describe", "class_counts",
           "mean_images", "ENV_VAR"]
