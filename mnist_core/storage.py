"""Step 7: keep a trained model. One `.keras` file carries the model and its metadata.

The metadata (architecture, hyperparameters, history, test accuracy, date, seed) is a JSON entry
added to the `.keras` zip, so a downloaded model is one file that plain `keras.models.load_model`
still opens. Loading treats every file as hostile: size and zip checks first (the zip's directory,
then each entry's size, before any entry is read), then every object the config names and every
layer's settings are checked against allow-lists (mnist_core.modelfile.allow), the network's cost
(mnist_core.modelfile.cost) against a budget and the weights' declared shapes against that walk
(mnist_core.modelfile.weights), all before Keras builds anything, then Keras safe mode, a check that Keras' global settings are unchanged, and a
check that the model really maps a 28x28 digit to 10 probabilities.

Refusals are ModelFileError(code, **values); the words for each code are in the app's catalogue
(studio/ui/locales/*.json, keys `model_file.<code>`), which the command line reads too.
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

from mnist_core.modelfile import allow, cost, weights

MODELS = Path(__file__).resolve().parents[1] / "models"
BEST_READER = MODELS / "default.keras"    # the bundled best reader of people's drawings (#17)
PEN_READER = MODELS / "pen-reader.keras"  # the pen reader of drawings' strokes, joined to the best reader (#29)
NOTE_NETWORK = MODELS / "tutorial.keras"  # the note's dense network, as the tutorial trains it
METADATA_ENTRY = "mnist_studio.json"
CONFIG_ENTRY, WEIGHTS_ENTRY = "config.json", "model.weights.h5"
MAX_MODEL_BYTES = 50 * 1024 * 1024          # far above any MNIST model, far below harm
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024  # a zip bomb stops here
MAX_ENTRIES = 16                            # Keras writes 3 entries, we add 1
MAX_ENTRY_BYTES = 1024 * 1024               # every entry but the weights: config.json, metadata
# The weights entry holds each parameter at most as float64 with two optimizer slots (Adam), plus
# HDF5's own structure: a file that claims more than its config's parameters is refused unread.
WEIGHT_BYTES_PER_PARAMETER = 24
WEIGHTS_OVERHEAD_BYTES = 2 * 1024 * 1024
ACCEPTED_INPUTS = {(784,), (28, 28), (28, 28, 1)}

class ModelFileError(Exception):
    """The file is not a usable MNIST model: `code` says why, `values` fill the message (the
    catalogue's `model_file.<code>`); str() is the code and values, for logs."""

    def __init__(self, code: str, **values):
        self.code, self.values = code, values
        super().__init__(f"{code} {values}" if values else code)


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
    model, metadata, _ = _load(Path(path))
    return model, metadata


def load_model_bytes(payload: bytes) -> tuple:
    """Load a model sent as bytes -> (model, metadata), by the same checks as a file."""
    model, metadata, _ = _load_bytes(payload)
    return model, metadata


def load_upload(payload: bytes) -> tuple:
    """Load an uploaded model -> (model, its cost.ModelCost). What the file claims about itself
    (its metadata) is not returned: an upload is measured, never believed."""
    model, _, model_cost = _load_bytes(payload)
    return model, model_cost


def _load_bytes(payload: bytes) -> tuple:
    """The user's file name is never used: the bytes go to a private temp file."""
    if len(payload) > MAX_MODEL_BYTES:
        raise ModelFileError("too_big", mib=len(payload) / 2**20, limit=MAX_MODEL_BYTES // 2**20)
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "upload.keras"
        path.write_bytes(payload)
        return _load(path)


def _load(path: Path) -> tuple:
    with _open_checked_zip(path) as archive:
        names = set(archive.namelist())
        if CONFIG_ENTRY not in names or WEIGHTS_ENTRY not in names:
            raise ModelFileError("not_keras")
        try:
            config = json.loads(_read_entry(archive, CONFIG_ENTRY))
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ModelFileError("corrupt_config") from exc
        model_cost = checked_cost(config)
        size = archive.getinfo(WEIGHTS_ENTRY).file_size
        if size > WEIGHT_BYTES_PER_PARAMETER * model_cost.parameters + WEIGHTS_OVERHEAD_BYTES:
            raise ModelFileError("weights_too_big", mib=size / 2**20,
                                 parameters=f"{model_cost.parameters:,}")
        try:
            weights.check_declared(archive.read(WEIGHTS_ENTRY), model_cost.parameters, model_cost.layers)
        except weights.WeightsError as exc:
            raise ModelFileError(exc.code, **exc.values) from exc
        metadata = _metadata_from(archive)

    import keras  # only here: reading metadata must not import TensorFlow
    before = keras_settings()
    try:
        model = keras.models.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:  # Keras raises many kinds; all mean "not a model we can use"
        raise ModelFileError("keras_failed", detail=f"{type(exc).__name__}: {_first_line(exc)}") from exc
    finally:
        changed = _restore_keras_settings(before)
    if changed:   # defence in depth: the allow-list should make this unreachable
        raise ModelFileError("changed_keras", detail=", ".join(changed))
    _check_is_mnist_classifier(model)
    return model, metadata, model_cost


def check_readable(payload: bytes) -> cost.ModelCost:
    """Refuse (ModelFileError) a model file that load_model_bytes would refuse for what it names,
    sets or costs: the store checks a run with this before keeping it, without building it."""
    if len(payload) > MAX_MODEL_BYTES:
        raise ModelFileError("too_big", mib=len(payload) / 2**20, limit=MAX_MODEL_BYTES // 2**20)
    import io
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            config = json.loads(_read_entry(archive, CONFIG_ENTRY))
    except (KeyError, zipfile.BadZipFile, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ModelFileError("corrupt_config") from exc
    return checked_cost(config)


def checked_cost(config: dict) -> cost.ModelCost:
    """The cost of the network `config` describes, refused (ModelFileError) when it names or sets
    anything the allow-lists do not admit, is over the budget in mnist_core.modelfile.cost or is
    not an MNIST classifier's shape, before Keras builds it."""
    try:
        allow.check_config(config)
        if not isinstance(config, dict) or config.get("class_name") not in allow.MODELS:
            raise cost.CostError("not_single_io")
        allow.check_layers(config)
        model_cost = cost.estimate(config)
    except RecursionError as exc:
        raise ModelFileError("corrupt_config") from exc
    except cost.CostError as exc:
        raise ModelFileError(exc.code, **exc.values) from exc
    if model_cost.input_shape not in ACCEPTED_INPUTS:
        raise ModelFileError("wrong_input", shape=str(model_cost.input_shape))
    if model_cost.output_shape != (10,):
        raise ModelFileError("wrong_output", shape=str(model_cost.output_shape))
    return model_cost


def _open_checked_zip(path: Path) -> zipfile.ZipFile:
    if not path.is_file():
        raise ModelFileError("missing", path=str(path))
    size = path.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise ModelFileError("too_big", mib=size / 2**20, limit=MAX_MODEL_BYTES // 2**20)
    if not zipfile.is_zipfile(path):
        raise ModelFileError("not_zip")
    entries = _directory_entries(path)   # before zipfile reads the directory into memory
    if entries is None or entries > MAX_ENTRIES:
        raise ModelFileError("too_many_entries", limit=MAX_ENTRIES)
    try:
        archive = zipfile.ZipFile(path)
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ModelFileError("damaged_zip", detail=_first_line(exc)) from exc
    oversized = next((i for i in infos if i.filename != WEIGHTS_ENTRY and i.file_size > MAX_ENTRY_BYTES), None)
    if sum(info.file_size for info in infos) > MAX_UNCOMPRESSED_BYTES:
        archive.close()
        raise ModelFileError("zip_bomb", limit=MAX_UNCOMPRESSED_BYTES // 2**20)
    if oversized is not None:
        archive.close()
        raise ModelFileError("entry_too_big", name=oversized.filename[:80], mib=oversized.file_size / 2**20,
                             limit=MAX_ENTRY_BYTES // 2**20)
    return archive


_END_OF_DIRECTORY = b"PK\x05\x06"


def _directory_entries(path: Path) -> int | None:
    """How many entries the zip's end-of-directory record announces (None when it can't be found,
    or for a ZIP64 archive, which no 50 MiB model file needs)."""
    import struct
    with open(path, "rb") as file:
        file.seek(0, os.SEEK_END)
        tail_size = min(file.tell(), 22 + 65535)          # the record, and its comment at most
        file.seek(-tail_size, os.SEEK_END)
        tail = file.read()
    at = tail.rfind(_END_OF_DIRECTORY)
    if at < 0 or len(tail) - at < 22:
        return None
    total = struct.unpack("<H", tail[at + 10:at + 12])[0]
    return None if total == 0xFFFF else total


def _read_entry(archive: zipfile.ZipFile, name: str) -> bytes:
    """An entry's bytes, never more than MAX_ENTRY_BYTES whatever its header claims."""
    with archive.open(name) as entry:
        payload = entry.read(MAX_ENTRY_BYTES + 1)
    if len(payload) > MAX_ENTRY_BYTES:
        raise ModelFileError("entry_too_big", name=name, mib=len(payload) / 2**20,
                             limit=MAX_ENTRY_BYTES // 2**20)
    return payload


def _metadata_from(archive: zipfile.ZipFile) -> dict:
    if METADATA_ENTRY not in archive.namelist():
        return {}
    try:
        metadata = json.loads(_read_entry(archive, METADATA_ENTRY))
    except (ValueError, UnicodeDecodeError, RecursionError, zipfile.BadZipFile):
        return {}
    return metadata if isinstance(metadata, dict) else {}


def keras_settings() -> dict:
    """Keras' process-wide settings that a model file must never change."""
    import keras
    settings = {"floatx": keras.config.floatx(), "epsilon": keras.config.epsilon(),
                "image_data_format": keras.config.image_data_format(),
                "dtype_policy": keras.config.dtype_policy().name}
    for name in ("max_epochs", "max_steps_per_epoch"):   # newer Keras releases only
        if hasattr(keras.config, name):
            settings[name] = getattr(keras.config, name)()
    return settings


def _restore_keras_settings(before: dict) -> list[str]:
    import keras
    changed = [name for name, value in keras_settings().items() if value != before[name]]
    setters = {"floatx": keras.config.set_floatx, "epsilon": keras.config.set_epsilon,
               "image_data_format": keras.config.set_image_data_format,
               "dtype_policy": keras.config.set_dtype_policy,
               "max_epochs": getattr(keras.config, "set_max_epochs", None),
               "max_steps_per_epoch": getattr(keras.config, "set_max_steps_per_epoch", None)}
    for name in changed:
        setters[name](before[name])
    return changed


def _check_is_mnist_classifier(model) -> None:
    try:
        input_shape = tuple(model.input_shape[1:])
        output_shape = tuple(model.output_shape[1:])
    except (AttributeError, ValueError) as exc:
        raise ModelFileError("not_single_io") from exc
    if input_shape not in ACCEPTED_INPUTS:
        raise ModelFileError("wrong_input", shape=str(input_shape))
    if output_shape != (10,):
        raise ModelFileError("wrong_output", shape=str(output_shape))
    probe = np.random.default_rng(0).random((2,) + input_shape, dtype=np.float32)
    try:
        output = np.asarray(model(probe, training=False))
    except Exception as exc:
        raise ModelFileError("fails_on_input", detail=_first_line(exc)) from exc
    if not np.isfinite(output).all() or not np.allclose(output.sum(axis=1), 1.0, atol=1e-3) \
            or output.min() < 0:
        raise ModelFileError("not_probabilities")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
