"""Model files: round trip, and every kind of bad or hostile file refused with a clear message."""

import json
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest

from mnist_core import models, storage
from mnist_core.storage import ModelFileError

from .conftest import ROOT


@pytest.fixture()
def small_model():
    return models.build_model("dense", hidden_units=16, seed=3)


def test_round_trip_keeps_weights_predictions_and_metadata(tmp_path, small_model, rng):
    metadata = {"arch": "dense", "hparams": {"hidden_units": 16}, "history": {"loss": [0.5, 0.3]},
                "test_accuracy": np.float32(0.91), "seed": 3}
    path = storage.save_model(small_model, tmp_path / "m.keras", metadata)
    loaded, read = storage.load_model(path)
    for a, b in zip(small_model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = rng.random((4, 784), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(small_model(x)), atol=1e-6)
    assert read["arch"] == "dense" and read["history"]["loss"] == [0.5, 0.3]
    assert read["test_accuracy"] == pytest.approx(0.91) and "saved_at" in read
    assert storage.read_metadata(path) == read
    # Still a plain Keras file.
    assert keras.models.load_model(path).count_params() == small_model.count_params()


def test_model_bytes_load_back(small_model):
    payload = storage.model_bytes(small_model, {"name": "x"})
    model, metadata = storage.load_model_bytes(payload)
    assert metadata["name"] == "x" and model.count_params() == small_model.count_params()


def test_reading_metadata_does_not_import_tensorflow(tmp_path, small_model):
    path = storage.save_model(small_model, tmp_path / "m.keras", {"name": "meta"})
    code = ("import sys; from mnist_core.storage import read_metadata; "
            f"assert read_metadata({str(path)!r})['name'] == 'meta'; "
            "assert 'tensorflow' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_random_bytes_are_refused(rng):
    with pytest.raises(ModelFileError, match="not a .keras model file"):
        storage.load_model_bytes(rng.bytes(5000))


def test_zip_with_wrong_contents_is_refused(tmp_path):
    path = tmp_path / "x.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(ModelFileError, match="not a Keras model"):
        storage.load_model(path)


def test_corrupt_config_is_refused(tmp_path, small_model):
    path = storage.save_model(small_model, tmp_path / "m.keras")
    _rewrite_entry(path, "config.json", b"{not json")
    with pytest.raises(ModelFileError, match="corrupt"):
        storage.load_model(path)


def test_corrupt_weights_are_refused(tmp_path, small_model):
    path = storage.save_model(small_model, tmp_path / "m.keras")
    _rewrite_entry(path, "model.weights.h5", b"\x89HDF\r\n garbage")
    with pytest.raises(ModelFileError, match="Keras could not load"):
        storage.load_model(path)


def _rewrite_entry(path, name, payload):
    with zipfile.ZipFile(path) as archive:
        entries = {n: archive.read(n) for n in archive.namelist()}
    entries[name] = payload
    with zipfile.ZipFile(path, "w") as archive:
        for n, data in entries.items():
            archive.writestr(n, data)


def test_lambda_layer_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "ran"
    code = f"lambda x: (open({str(marker)!r}, 'w').close(), x)[1]"
    lam = keras.layers.Lambda(eval(code))  # noqa: S307 (the hostile function under test)
    model = keras.Sequential([keras.Input((784,)), lam, keras.layers.Dense(10, activation="softmax")])
    marker.unlink(missing_ok=True)      # building the model ran it once; that is not the loader
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(ModelFileError, match="Lambda"):
        storage.load_model(path)
    assert not marker.exists()


def test_module_injection_in_config_is_refused(tmp_path, small_model):
    path = storage.save_model(small_model, tmp_path / "m.keras")
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    config["config"]["layers"][1]["module"] = "os"
    config["config"]["layers"][1]["class_name"] = "system"
    _rewrite_entry(path, "config.json", json.dumps(config).encode())
    with pytest.raises(ModelFileError, match="not part of Keras"):
        storage.load_model(path)


def test_custom_object_is_refused(tmp_path):
    @keras.saving.register_keras_serializable(package="evil")
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return x * 2

    model = keras.Sequential([keras.Input((784,)), Doubler(), keras.layers.Dense(10, activation="softmax")])
    path = tmp_path / "custom.keras"
    model.save(path)
    with pytest.raises(ModelFileError, match="not part of Keras|custom object"):
        storage.load_model(path)


@pytest.mark.parametrize("build, message", [
    (lambda: keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(),
                               keras.layers.Dense(10, activation="softmax")]), "takes inputs shaped"),
    (lambda: keras.Sequential([keras.Input((784,)), keras.layers.Dense(5, activation="softmax")]),
     "outputs"),
    (lambda: keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)]), "not probabilities"),
])
def test_models_that_are_not_mnist_classifiers_are_refused(tmp_path, build, message):
    path = tmp_path / "other.keras"
    build().save(path)
    with pytest.raises(ModelFileError, match=message):
        storage.load_model(path)


def test_oversized_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(storage, "MAX_MODEL_BYTES", 1000)
    with pytest.raises(ModelFileError, match="limited"):
        storage.load_model_bytes(bytes(2000))
    big = tmp_path / "big.keras"
    big.write_bytes(bytes(2000))
    with pytest.raises(ModelFileError, match="limited"):
        storage.load_model(big)


def test_zip_bomb_is_refused(tmp_path):
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", bytes(250 * 2**20))
    assert path.stat().st_size < storage.MAX_MODEL_BYTES
    with pytest.raises(ModelFileError, match="unpacks to more than"):
        storage.load_model(path)


def test_missing_file_and_wrong_suffix(tmp_path, small_model):
    with pytest.raises(ModelFileError, match="no model file"):
        storage.load_model(tmp_path / "absent.keras")
    with pytest.raises(ValueError, match=".keras"):
        storage.save_model(small_model, tmp_path / "m.h5")
