"""A model file's cost is bounded before Keras builds anything; an upload's evaluation costs its owner.

The cost walk (mnist_core.modelfile.cost) is checked against Keras' own count of every allowed layer; the
hostile files of issue #18 (bench/hostile_models.py builds them) are refused with a message in both
languages while the refusing process grows by less than 50 MiB.
"""

import json
import math
import re
import threading
import zipfile

import keras
import numpy as np
import pytest

from bench import hostile_models
from mnist_core.modelfile import allow, cost
from mnist_core import models, predict, storage
from mnist_core.networks import presets
from mnist_core.storage import ModelFileError

from .conftest import ROOT

layers = keras.layers
CATALOGUES = {lang: json.loads((ROOT / "studio" / "ui" / "locales" / f"{lang}.json").read_text("utf-8"))
              for lang in ("en", "zh")}
CJK = re.compile(r"[\u4e00-\u9fff]")


def config_of(model) -> dict:
    return json.loads(json.dumps(keras.saving.serialize_keras_object(model)))   # as a file holds it


def keras_reference(model) -> tuple[int, int]:
    """(parameters, largest layer output per image) as Keras counts them."""
    return model.count_params(), max(math.prod(layer.output.shape[1:]) for layer in model.layers)


def image_model(*middle, inputs=(28, 28, 1)):
    return keras.Sequential([keras.Input(inputs), *middle, layers.Flatten(),
                             layers.Dense(10, activation="softmax")])


# One small model per allowed layer (merges and nesting in a functional graph below).
def every_layer_models():
    yield "dense", image_model(layers.Dense(24), layers.Dropout(0.2), layers.GaussianNoise(0.1),
                               layers.ReLU(), layers.LeakyReLU(), layers.ELU(), layers.Activation("tanh"),
                               layers.Softmax(), inputs=(784,))
    yield "conv", image_model(layers.Rescaling(1 / 255), layers.Conv2D(6, 5, strides=2, padding="same"),
                              layers.BatchNormalization(), layers.PReLU(shared_axes=[1, 2]),
                              layers.Conv2D(8, 3, dilation_rate=2), layers.SpatialDropout2D(0.1),
                              layers.MaxPooling2D(2), layers.Conv2D(4, 3, groups=2, padding="same"))
    yield "separable", image_model(layers.ZeroPadding2D(((1, 2), (3, 0))), layers.DepthwiseConv2D(3, depth_multiplier=2),
                                   layers.SeparableConv2D(12, 3, strides=2), layers.AveragePooling2D(3, strides=1,
                                                                                                     padding="same"),
                                   layers.LayerNormalization())
    yield "augment", image_model(layers.RandomRotation(0.1), layers.RandomZoom(0.1), layers.RandomTranslation(0.1, 0.1),
                                 layers.RandomContrast(0.1), layers.Conv2D(4, 3), layers.GlobalMaxPooling2D(keepdims=True))
    yield "reshape", keras.Sequential([keras.Input((784,)), layers.Reshape((28, 28, 1)), layers.Conv2D(4, 3),
                                       layers.GlobalAveragePooling2D(), layers.Dense(10, activation="softmax")])
    inputs = keras.Input((28, 28))
    image = layers.Reshape((28, 28, 1))(inputs)
    left, right = layers.Conv2D(4, 3)(image), layers.Conv2D(4, 3)(image)
    merged = [merge()([left, right]) for merge in (layers.Add, layers.Average, layers.Maximum, layers.Multiply)]
    joined = layers.Concatenate()(merged)
    inner = keras.Sequential([keras.Input((26, 26, 16)), layers.Conv2D(8, 3), layers.Flatten()])
    yield "functional", keras.Model(inputs, layers.Dense(10, activation="softmax")(inner(joined)))


@pytest.mark.parametrize("name, model", list(every_layer_models()), ids=lambda v: v if isinstance(v, str) else "")
def test_the_cost_walk_agrees_with_keras_for_every_allowed_layer(name, model):
    estimate = cost.estimate(config_of(model))
    parameters, largest = keras_reference(model)
    assert estimate.parameters == parameters
    assert estimate.output_shape == (10,) and estimate.input_shape == tuple(model.input_shape[1:])
    if name == "separable":   # its depthwise half is an activation Keras does not show as a layer
        assert estimate.largest_activation >= largest
    elif name != "functional":   # (the nested model's layers are inside one Keras layer)
        assert estimate.largest_activation == largest


def test_every_allowed_layer_is_covered_by_a_cost_rule():
    covered = {type(layer).__name__ for _, model in every_layer_models()
               for layer in getattr(model, "_flatten_layers", lambda: model.layers)()}
    assert allow.ALLOWED_CLASSES["keras.layers"] - {"InputLayer"} <= covered | {"Sequential"}


def test_multiply_adds_match_the_convolutions_and_dense_layers_keras_builds():
    """The heavy work of a network is its kernels: each Dense kernel once per image, each Conv2D
    kernel once per output position (counted here from Keras' own layers)."""
    for arch in presets.ARCHITECTURES:
        model = models.build_model(arch)
        kernels = sum(math.prod(layer.kernel.shape) * (math.prod(layer.output.shape[1:3])
                                           if isinstance(layer, layers.Conv2D) else 1)
                      for layer in model.layers if isinstance(layer, (layers.Dense, layers.Conv2D)))
        estimate = cost.estimate(config_of(model))
        elementwise = 4 * estimate.activations      # activations, pooling, normalisation
        assert kernels <= estimate.multiply_adds <= kernels + elementwise, arch


def test_the_apps_own_networks_and_the_classic_keras_cnn_fit_the_budget():
    for arch in presets.ARCHITECTURES:
        assert cost.refusal(cost.estimate(config_of(models.build_model(arch)))) is None, arch
    for path in (ROOT / "models").glob("*.keras"):
        with zipfile.ZipFile(path) as archive:
            assert cost.refusal(cost.estimate(json.loads(archive.read("config.json")))) is None
    classic = image_model(layers.Conv2D(32, 3, activation="relu"), layers.Conv2D(64, 3, activation="relu"),
                          layers.MaxPooling2D(2), layers.Dropout(0.25), layers.Flatten(),
                          layers.Dense(128, activation="relu"))
    assert cost.refusal(cost.estimate(config_of(classic))) is None


# --- The hostile files of issue #18 -----------------------------------------------------------------

@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    return hostile_models.build(tmp_path_factory.mktemp("hostile"))


def test_hostile_files_are_refused_without_the_process_growing(hostile):
    """Measured in a fresh process that has loaded a real model once: the peak resident memory
    (VmHWM, reset just before) grows by less than 50 MiB while each file is refused."""
    results = hostile_models.refusal_memory(list(hostile.values()))
    for name, result in zip(hostile, results):
        assert result["code"] is not None, name
        assert result["peak_growth"] < hostile_models.TARGET_MIB, (name, result)
        for lang, words in CATALOGUES.items():
            message = words[f"model_file.{result['code']}"].format(**result["values"])
            assert message and (CJK.search(message) if lang == "zh" else not CJK.search(message))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_hostile_files_are_refused_on_the_page_in_each_language(hostile, lang):
    from .test_app import open_page
    at = open_page("train", lang=lang)
    words = CATALOGUES[lang]
    for path in hostile.values():
        with pytest.raises(ModelFileError) as refused:
            storage.load_upload(path.read_bytes())
        attempt = at.session_state["model_upload_attempt"]
        at.file_uploader(key=f"model_upload_{attempt}").upload(path.name, path.read_bytes(),
                                                               "application/zip").run()
        expected = words["train.upload.refused"].format(
            reason=words[f"model_file.{refused.value.code}"].format(**refused.value.values))
        assert [e.value for e in at.error] == [expected] and not at.exception
    assert at.session_state["studio"].models == {}


def saved(model, tmp_path, name="m.keras"):
    path = tmp_path / name
    model.save(path)
    return path


def test_each_budget_is_refused_with_its_own_code(tmp_path):
    cases = {
        "too_many_parameters": keras.Sequential([keras.Input((784,)), layers.Dense(3000),
                                                 layers.Dense(10, activation="softmax")]),
        "too_large_activation": image_model(layers.ZeroPadding2D(32), layers.Conv2D(32, 3, padding="same"),
                                            layers.GlobalAveragePooling2D()),
    }
    for code, model in cases.items():
        with pytest.raises(ModelFileError) as refused:
            storage.load_model(saved(model, tmp_path, f"{code}.keras"))
        assert refused.value.code == code
        limit = {"too_many_parameters": cost.MAX_PARAMETERS,
                 "too_large_activation": cost.MAX_ACTIVATION}[code]
        assert refused.value.values["limit"] == f"{limit:,}"


def test_zip_directory_caps_refuse_before_reading(tmp_path):
    good = storage.save_model(models.build_model("dense", hidden_units=16), tmp_path / "good.keras")
    with zipfile.ZipFile(good) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}

    def rezip(name, extra):
        path = tmp_path / name
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for entry, payload in (entries | extra).items():
                archive.writestr(entry, payload)
        return path

    many = rezip("many.keras", {f"pad/{i}": b"" for i in range(storage.MAX_ENTRIES)})
    big_metadata = rezip("meta.keras", {storage.METADATA_ENTRY: b" " * (storage.MAX_ENTRY_BYTES + 1)})
    big_weights = rezip("weights.keras", {storage.WEIGHTS_ENTRY: bytes(100 * 2**20)})   # 16 units need ~0.3 MB
    for path, code in ((many, "too_many_entries"), (big_metadata, "entry_too_big"), (big_weights, "weights_too_big")):
        with pytest.raises(ModelFileError) as refused:
            storage.load_model(path)
        assert refused.value.code == code, path.name
    with pytest.raises(ModelFileError, match="^entry_too_big"):
        storage.read_metadata(big_metadata)


@pytest.mark.parametrize("change, argument", [
    (lambda c: c.update(units=10**30), "units"), (lambda c: c.update(units=True), "units"),
    (lambda c: c.update(units="512"), "units"), (lambda c: c.update(units=-4), "units"),
])
def test_absurd_layer_arguments_are_refused_before_keras(tmp_path, change, argument):
    path = storage.save_model(models.build_model("dense", hidden_units=16), tmp_path / "m.keras")
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(entries["config.json"])
    change(config["config"]["layers"][1]["config"])
    entries["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, payload in entries.items():
            archive.writestr(name, payload)
    with pytest.raises(ModelFileError) as refused:
        storage.load_model(path)
    assert refused.value.code == "bad_argument" and refused.value.values["argument"] == argument


# --- Evaluating an upload: off the shared slots, in chunks, within a time limit ------------------------

def test_a_wide_model_goes_through_in_smaller_chunks():
    wide = image_model(layers.ZeroPadding2D(10), layers.Conv2D(32, 3, padding="same"))
    chunk = predict.Predictor(wide).chunk
    per_image = cost.estimate(config_of(wide)).activations * cost.VALUE_BYTES
    assert chunk < cost.CHUNK_IMAGES and chunk * per_image <= cost.CHUNK_BYTES < (chunk + 1) * per_image
    images = np.random.default_rng(0).random((chunk * 2 + 3, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(predict.Predictor(wide).predict_proba(images),
                               np.asarray(wide(images[..., None], training=False)), atol=1e-5)


def test_an_uploads_evaluation_does_not_wait_for_the_shared_slots():
    model = models.build_model("dense", hidden_units=16)
    images = np.random.default_rng(1).random((5000, 28, 28), dtype=np.float32)
    for _ in range(predict.INFERENCE_SLOTS):         # every learner's slot is taken
        predict._inference.acquire()
    try:
        result = []
        worker = threading.Thread(target=lambda: result.append(
            predict.Predictor(model, shared_slots=False).predict_proba(images)))
        worker.start()
        worker.join(120)
        assert result and result[0].shape == (5000, 10)
    finally:
        for _ in range(predict.INFERENCE_SLOTS):
            predict._inference.release()


def test_an_evaluation_past_its_time_limit_stops_and_says_how_far_it_got():
    model = models.build_model("dense", hidden_units=16)
    predictor = predict.Predictor(model, shared_slots=False)
    predictor.chunk = 100
    images = np.zeros((1000, 28, 28), np.float32)
    with pytest.raises(predict.OutOfTime) as late:
        predictor.predict_proba(images, seconds=0)
    assert late.value.code == "too_slow" and late.value.values["total"] == 1000
    assert late.value.values["done"] < 1000
    for words in CATALOGUES.values():
        assert words["model_file.too_slow"].format(**late.value.values)


def test_a_slow_upload_is_refused_on_the_page(mnist_path, monkeypatch):
    from .test_app import open_page
    monkeypatch.setenv("MNIST_DATA", str(mnist_path))
    monkeypatch.setattr(cost, "EVALUATION_SECONDS", 0)
    at = open_page("train")
    attempt = at.session_state["model_upload_attempt"]
    payload = (ROOT / "models" / "default.keras").read_bytes()
    at.file_uploader(key=f"model_upload_{attempt}").upload("slow.keras", payload, "application/zip").run()
    assert not at.exception and len(at.error) == 1
    assert "too slow for this server" in at.error[0].value and "of the 10,000 test images" in at.error[0].value
    assert at.session_state["studio"].models == {}
