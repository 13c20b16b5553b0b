"""Step 7: keep a trained model. One `.keras` file carries the model and its metadata.

The metadata (architecture, hyperparameters, history, test accuracy, date, seed) is a JSON entry
added to the `.keras` zip, so a downloaded model is one file that plain `keras.models.load_model`
still opens. Loading treats every file as hostile: size and zip checks first, a scan of the config
for anything but Keras' own layers, Keras safe mode, then a check that the model really maps a
28x28 digit to 10 probabilities.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np

METADATA_ENTRY = "mnist_studio.json"
MAX_MODEL_BYTES = 50 * 1024 * 1024          # far above any MNIST model, far below harm
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024  # a zip bomb stops here
ACCEPTED_INPUTS = {(784,), (28, 28), (28, 28, 1)}
# Layers that execute code from the file, or are not Keras' own, are refused before Keras sees them.
REFUSED_CLASSES = {"Lambda", "TFSMLayer"}
KERAS_MODULE_PREFIXES = ("keras", "builtins")


class ModelFileError(Exception):
    """The file is not a usable MNIST model; the message says why."""


def save_model(model, path, metadata: dict | None = None) -> Path:
    """Write `model` and `metadata` to one `.keras` file (written whole, then renamed into place)."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"model files end in .keras; got {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = dict(metadata or {})
    metadata.setdefault("saved_at", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    metadata.setdefault("input_shape", list(model.input_shape[1:]))
    with tempfile.TemporaryDirectory() as workdir:
        staged = Path(workdir) / "model.keras"
        model.save(staged)
        with zipfile.ZipFile(staged, "a") as archive:
            archive.writestr(METADATA_ENTRY, json.dumps(metadata, indent=2, default=_jsonable))
        shutil.move(str(staged), path.with_suffix(".keras.part"))
    os.replace(path.with_suffix(".keras.part"), path)
    return path


def model_bytes(model, metadata: dict | None = None) -> bytes:
    """The `.keras` file for `model` as bytes (for a download button)."""
    with tempfile.TemporaryDirectory() as workdir:
        return save_model(model, Path(workdir) / "model.keras", metadata).read_bytes()


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def read_metadata(path) -> dict:
    """The metadata of a model file, without loading the model (nor TensorFlow)."""
    with _open_checked_zip(Path(path)) as archive:
        return _metadata_from(archive)


def load_model(path) -> tuple:
    """Load a `.keras` file safely -> (model, metadata). Raises ModelFileError for anything wrong."""
    path = Path(path)
    with _open_checked_zip(path) as archive:
        names = set(archive.namelist())
        if "config.json" not in names or "model.weights.h5" not in names:
            raise ModelFileError("This zip is not a Keras model: it has no config.json and "
                                 "model.weights.h5. Save models with model.save('name.keras').")
        try:
            config = json.loads(archive.read("config.json"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ModelFileError("The model's config.json is not valid JSON: the file is corrupt.") from exc
        _refuse_foreign_code(config)
        metadata = _metadata_from(archive)

    import keras  # only here: reading metadata must not import TensorFlow
    try:
        model = keras.models.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:  # Keras raises many kinds; all mean "not a model we can use"
        raise ModelFileError(f"Keras could not load this model ({type(exc).__name__}: "
                             f"{_first_line(exc)}).") from exc
    _check_is_mnist_classifier(model)
    return model, metadata


def load_model_bytes(payload: bytes) -> tuple:
    """Load an uploaded model. The user's file name is never used: it goes to a private temp file."""
    if len(payload) > MAX_MODEL_BYTES:
        raise ModelFileError(f"The file is {len(payload) / 2**20:.0f} MiB; model files are limited to "
                             f"{MAX_MODEL_BYTES // 2**20} MiB.")
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "upload.keras"
        path.write_bytes(payload)
        return load_model(path)


def _open_checked_zip(path: Path) -> zipfile.ZipFile:
    if not path.is_file():
        raise ModelFileError(f"There is no model file at {path}.")
    size = path.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise ModelFileError(f"The file is {size / 2**20:.0f} MiB; model files are limited to "
                             f"{MAX_MODEL_BYTES // 2**20} MiB.")
    if not zipfile.is_zipfile(path):
        raise ModelFileError("This is not a .keras model file (a .keras file is a zip archive). "
                             "Save models with model.save('name.keras').")
    try:
        archive = zipfile.ZipFile(path)
        total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ModelFileError(f"The model file is a damaged zip archive ({exc}).") from exc
    if total > MAX_UNCOMPRESSED_BYTES:
        archive.close()
        raise ModelFileError("The model file unpacks to more than "
                             f"{MAX_UNCOMPRESSED_BYTES // 2**20} MiB: refused.")
    return archive


def _metadata_from(archive: zipfile.ZipFile) -> dict:
    if METADATA_ENTRY not in archive.namelist():
        return {}
    try:
        metadata = json.loads(archive.read(METADATA_ENTRY))
    except (ValueError, UnicodeDecodeError):
        return {}
    return metadata if isinstance(metadata, dict) else {}


def _refuse_foreign_code(node) -> None:
    """Walk the config: only Keras' own classes, no Lambda, no custom or registered objects."""
    if isinstance(node, dict):
        class_name = node.get("class_name")
        if class_name in REFUSED_CLASSES:
            raise ModelFileError(f"The model contains a {class_name} layer, which runs code stored in "
                                 "the file. MNIST Studio refuses such models.")
        module = node.get("module")
        if class_name and isinstance(module, str) and not module.startswith(KERAS_MODULE_PREFIXES):
            raise ModelFileError(f"The model uses {class_name} from {module!r}, which is not part of "
                                 "Keras. MNIST Studio loads only models built from Keras' own layers.")
        if node.get("registered_name"):   # Keras' own objects all have registered_name null
            raise ModelFileError(f"The model uses a custom object ({node['registered_name']}). "
                                 "MNIST Studio loads only models built from Keras' own layers.")
        for value in node.values():
            _refuse_foreign_code(value)
    elif isinstance(node, list):
        for value in node:
            _refuse_foreign_code(value)


def _check_is_mnist_classifier(model) -> None:
    try:
        input_shape = tuple(model.input_shape[1:])
        output_shape = tuple(model.output_shape[1:])
    except (AttributeError, ValueError) as exc:
        raise ModelFileError("The model has no single input and output.") from exc
    if input_shape not in ACCEPTED_INPUTS:
        raise ModelFileError(f"The model takes inputs shaped {input_shape}; an MNIST model takes "
                             "28x28 digits (784 values, 28x28 or 28x28x1).")
    if output_shape != (10,):
        raise ModelFileError(f"The model outputs {output_shape}; an MNIST model outputs 10 classes.")
    probe = np.random.default_rng(0).random((2,) + input_shape, dtype=np.float32)
    try:
        output = np.asarray(model(probe, training=False))
    except Exception as exc:
        raise ModelFileError(f"The model fails on a test input ({_first_line(exc)}).") from exc
    if not np.isfinite(output).all() or not np.allclose(output.sum(axis=1), 1.0, atol=1e-3) \
            or output.min() < 0:
        raise ModelFileError("The model's outputs are not probabilities (its last layer must be a "
                             "softmax over the 10 digits).")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
