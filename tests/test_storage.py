"""Model files: round trip, and every kind of bad or hostile file refused with a clear message."""

import json
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest

from mnist_core import models, storage
from mnist_core.networks import presets
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
    with pytest.raises(ModelFileError, match="^not_zip"):
        storage.load_model_bytes(rng.bytes(5000))


def test_zip_with_wrong_contents_is_refused(tmp_path):
    path = tmp_path / "x.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(ModelFileError, match="^not_keras"):
        storage.load_model(path)


def test_corrupt_config_is_refused(tmp_path, small_model):
    path = storage.save_model(small_model, tmp_path / "m.keras")
    _rewrite_entry(path, "config.json", b"{not json")
    with pytest.raises(ModelFileError, match="^corrupt_config"):
        storage.load_model(path)


def test_corrupt_weights_are_refused(tmp_path, small_model):
    path = storage.save_model(small_model, tmp_path / "m.keras")
    _rewrite_entry(path, "model.weights.h5", b"\x89HDF\r\n garbage")
    with pytest.raises(ModelFileError, match="^weights_damaged"):    # refused before Keras reads it
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
    with pytest.raises(ModelFileError, match="^code_layer.*Lambda"):
        storage.load_model(path)
    assert not marker.exists()


def _with_config(path, change):
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    change(config)
    _rewrite_entry(path, "config.json", json.dumps(config).encode())
    return path


def test_module_injection_in_config_is_refused(tmp_path, small_model):
    def system_layer(config):
        config["config"]["layers"][1]["module"] = "os"
        config["config"]["layers"][1]["class_name"] = "system"
    path = _with_config(storage.save_model(small_model, tmp_path / "m.keras"), system_layer)
    with pytest.raises(ModelFileError, match="^foreign_object") as refused:
        storage.load_model(path)
    assert refused.value.code == "foreign_object" and refused.value.values["module"] == "os"


# Public Keras functions that change the whole process: a file that names one as an activation
# passed safe mode and the old `module.startswith("keras")` check, and the shape probe called it.
GLOBAL_STATE_FUNCTIONS = [
    ("keras.config", "set_max_epochs"), ("keras.config", "set_floatx"),
    ("keras.config", "set_epsilon"), ("keras.config", "set_image_data_format"),
    ("keras.utils", "set_random_seed"), ("keras.mixed_precision", "set_global_policy"),
    ("keras.config", "set_dtype_policy"), ("keras.config", "disable_traceback_filtering"),
]


def _function_as_activation(module, name):
    def change(config):
        config["config"]["layers"][1]["config"]["activation"] = {
            "module": module, "class_name": "function", "config": name, "registered_name": None}
    return change


def _process_state():
    import random
    return (storage.keras_settings(), np.random.get_state()[1].tobytes(), random.getstate(),
            keras.config.is_traceback_filtering_enabled())


@pytest.mark.parametrize("module, name", GLOBAL_STATE_FUNCTIONS)
def test_global_state_functions_are_refused_and_never_run(tmp_path, small_model, small_mnist,
                                                          module, name):
    path = _with_config(storage.save_model(small_model, tmp_path / "m.keras"),
                        _function_as_activation(module, name))
    before = _process_state()
    with pytest.raises(ModelFileError, match=f"^foreign_function.*'{name}'") \
            as refused:
        storage.load_model(path)
    assert refused.value.code == "foreign_function"
    assert _process_state() == before
    # And training in this process still works (set_max_epochs broke every later fit).
    from mnist_core import training
    model = models.build_model("dense", hidden_units=8, seed=1)
    result = training.train(model, small_mnist, epochs=1, batch_size=256)
    assert result.epochs_completed == 1 and np.isfinite(result.history["loss"][0])


def test_the_exploit_is_real_without_the_allow_list(tmp_path, small_model):
    """Plain Keras safe mode loads such a file, and calling the model runs the function: this is
    what the allow-list stops (run in a child process, whose global state may be spoiled)."""
    path = _with_config(storage.save_model(small_model, tmp_path / "m.keras"),
                        _function_as_activation("keras.config", "set_epsilon"))
    code = ("import keras, numpy as np; "
            f"m = keras.models.load_model({str(path)!r}, safe_mode=True, compile=False); "
            "before = keras.config.epsilon()\n"
            "try: m(np.zeros((1, 784), 'float32'))\nexcept Exception: pass\n"
            "print(before, keras.config.epsilon())")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, check=True).stdout.split()
    assert output[0] != output[1], "safe mode now refuses this by itself: revisit the allow-list"


@pytest.mark.parametrize("where, value", [
    ("activation", "set_floatx"),                          # a bare name that is no activation
    ("class", ("keras.layers", "TFSMLayer")),
    ("class", ("keras.src.layers.core.dense", "Dense")),   # Keras' internals, not its public API
    ("class", ("keras.layers", "__lambda__")),
    ("registered", "evil>Doubler"),
])
def test_anything_outside_the_allow_list_is_refused(tmp_path, small_model, where, value):
    def change(config):
        layer = config["config"]["layers"][1]
        if where == "activation":
            layer["config"]["activation"] = value
        elif where == "class":
            layer["module"], layer["class_name"] = value
        else:
            layer["registered_name"] = value
    path = _with_config(storage.save_model(small_model, tmp_path / "m.keras"), change)
    with pytest.raises(ModelFileError) as refused:
        storage.load_model(path)
    assert refused.value.code in {"foreign_object", "foreign_function", "code_layer"}


def test_nested_compile_config_is_refused(tmp_path, small_model):
    def nested(config):
        config["config"]["layers"][1]["compile_config"] = {"optimizer": "adam"}
    path = _with_config(storage.save_model(small_model, tmp_path / "m.keras"), nested)
    with pytest.raises(ModelFileError, match="^foreign_object.*compile_config"):
        storage.load_model(path)


def test_deeply_nested_config_is_a_message_not_a_crash(tmp_path, small_model):
    path = storage.save_model(small_model, tmp_path / "m.keras")
    _rewrite_entry(path, "config.json", b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(ModelFileError, match="^corrupt_config"):
        storage.load_model(path)


def test_what_learners_build_is_accepted(tmp_path, rng):
    """The allow-list still takes every architecture the app trains, functional models and the
    augmentation layers of the generated Keras script."""
    for arch in presets.ARCHITECTURES:
        loaded, _ = storage.load_model(storage.save_model(models.build_model(arch),
                                                          tmp_path / f"{arch}.keras"))
        assert loaded.output_shape == (None, 10)
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.RandomRotation(0.04)(inputs)
    x = keras.layers.Conv2D(8, 3, activation="relu", kernel_regularizer="l2")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    functional = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
    functional.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    functional.save(tmp_path / "functional.keras")
    loaded, _ = storage.load_model(tmp_path / "functional.keras")
    x = rng.random((3, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(loaded(x, training=False)),
                               np.asarray(functional(x, training=False)), atol=1e-6)


def test_custom_object_is_refused(tmp_path):
    @keras.saving.register_keras_serializable(package="evil")
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return x * 2

    model = keras.Sequential([keras.Input((784,)), Doubler(), keras.layers.Dense(10, activation="softmax")])
    path = tmp_path / "custom.keras"
    model.save(path)
    with pytest.raises(ModelFileError, match="Doubler"):
        storage.load_model(path)


@pytest.mark.parametrize("build, message", [
    (lambda: keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(),
                               keras.layers.Dense(10, activation="softmax")]), "^wrong_input"),
    (lambda: keras.Sequential([keras.Input((784,)), keras.layers.Dense(5, activation="softmax")]),
     "^wrong_output"),
    (lambda: keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)]), "^not_probabilities"),
])
def test_models_that_are_not_mnist_classifiers_are_refused(tmp_path, build, message):
    path = tmp_path / "other.keras"
    build().save(path)
    with pytest.raises(ModelFileError, match=message):
        storage.load_model(path)


def test_oversized_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(storage, "MAX_MODEL_BYTES", 1000)
    with pytest.raises(ModelFileError, match="^too_big"):
        storage.load_model_bytes(bytes(2000))
    big = tmp_path / "big.keras"
    big.write_bytes(bytes(2000))
    with pytest.raises(ModelFileError, match="^too_big"):
        storage.load_model(big)


def test_zip_bomb_is_refused(tmp_path):
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", bytes(250 * 2**20))
    assert path.stat().st_size < storage.MAX_MODEL_BYTES
    with pytest.raises(ModelFileError, match="^zip_bomb"):
        storage.load_model(path)


def test_missing_file_and_wrong_suffix(tmp_path, small_model):
    with pytest.raises(ModelFileError, match="^missing"):
        storage.load_model(tmp_path / "absent.keras")
    with pytest.raises(ValueError, match=".keras"):
        storage.save_model(small_model, tmp_path / "m.h5")


PIN_PYTHON = "MNIST_STUDIO_KERAS_PIN_PYTHON"   # an interpreter with keras==3.12.4 (.ci/run makes one)


def test_the_allow_list_holds_on_the_python_310_pin_of_keras():
    """requirements.txt pins keras==3.12.4 for Python 3.10: the hostile-file tests, and the check that
    every key its layers write is decided, run there too."""
    import os
    python = os.environ.get(PIN_PYTHON)
    if os.environ.get("MNIST_STUDIO_KERAS_PIN_CHILD"):
        pytest.skip("this is the pinned run itself")
    if not python:
        if os.environ.get("CI"):
            pytest.fail(f"CI must set {PIN_PYTHON} (see .ci/run)")
        pytest.skip(f"set {PIN_PYTHON} to an interpreter with keras==3.12.4 to run this")
    version = subprocess.run([python, "-c", "import keras; print(keras.__version__)"], check=True,
                             capture_output=True, text=True, cwd=ROOT).stdout.strip()
    assert version == "3.12.4"
    env = dict(os.environ, MNIST_STUDIO_KERAS_PIN_CHILD="1")
    result = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_storage.py",
                             "tests/test_upload_settings.py",
                             "-k", "global_state or exploit or outside_the_allow_list or learners or "
                                   "nested_compile or injection or custom_object or lambda or decided"],
                            capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout
