"""Uploads refuse what is not known (issue #25): every layer setting is on an allow-list with the
values it may take, a build_config must say what the walk found, and the weights' declared shapes
are checked before they are read. Each hostile file was accepted (or built, growing the process by
hundreds of MiB) before these checks; now each is refused, in both languages, with < 50 MiB growth."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import pytest

from mnist_core import storage
from mnist_core.modelfile import allow

from .conftest import ROOT
from .test_runstore import _zip
from .test_i18n import CATALOGUES

GROWTH_LIMIT_MIB = 50


def _tutorial() -> dict:
    with zipfile.ZipFile(storage.NOTE_NETWORK) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _with_config(change) -> bytes:
    entries = _tutorial()
    config = json.loads(entries["config.json"])
    change(config["config"]["layers"])
    entries["config.json"] = json.dumps(config)
    return _zip(entries)


def lora_rank() -> bytes:      # Keras builds a 104.8 M-parameter model from this (+1,267 MiB)
    return _with_config(lambda layers: layers[-1]["config"].update(lora_rank=200000))


def lying_build_config() -> bytes:   # Keras allocates the 5,000,000 x 512 kernel before any check
    return _with_config(lambda layers: layers[1].update(build_config={"input_shape": [None, 5_000_000]}))


def unknown_setting() -> bytes:
    return _with_config(lambda layers: layers[1]["config"].update(frobnicate=1))


def oversized_dataset() -> bytes:
    """The note's file with its hidden kernel declared 784 x 2,000,000 (6 GB as float32), stored
    as unwritten chunks: a few kilobytes on disk."""
    import h5py
    entries = _tutorial()
    source = io.BytesIO(entries["model.weights.h5"])
    target = io.BytesIO()
    with h5py.File(source, "r") as old, h5py.File(target, "w") as new:
        for name in old:
            old.copy(name, new)
        del new["layers/dense/vars/0"]
        new.create_dataset("layers/dense/vars/0", shape=(784, 2_000_000), dtype="f4", chunks=(784, 1024),
                           compression="gzip")
    entries["model.weights.h5"] = target.getvalue()
    return _zip(entries)


HOSTILE = {"lora_rank": (lora_rank, "bad_setting", "lora_rank"),
           "lying_build_config": (lying_build_config, "wrong_build_shape", "5000000"),
           "unknown_setting": (unknown_setting, "unknown_setting", "frobnicate"),
           "oversized_dataset": (oversized_dataset, "weights_shape", "layers/dense/vars/0")}

# A fresh process loads the note's network once (Keras and TensorFlow warmed), then each hostile
# file; its peak resident memory (ru_maxrss) is read before and after each refusal.
PROBE = r"""
import json, resource, sys
from mnist_core import storage
storage.load_upload(storage.NOTE_NETWORK.read_bytes())
out = {}
for name in sys.argv[1:]:
    payload = open(name, "rb").read()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        storage.load_upload(payload)
        code, values = "accepted", {}
    except storage.ModelFileError as exc:
        code, values = exc.code, exc.values
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    out[name] = {"code": code, "values": {k: str(v) for k, v in values.items()}, "grown_mib": grown}
print(json.dumps(out))
"""


def test_hostile_uploads_are_refused_in_both_languages_before_keras_allocates(tmp_path):
    paths = {}
    for name, (make, _, _) in HOSTILE.items():
        paths[name] = tmp_path / f"{name}.keras"
        paths[name].write_bytes(make())
    result = subprocess.run([sys.executable, "-c", PROBE, *map(str, paths.values())], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    for name, (_, code, named) in HOSTILE.items():
        seen = outcome[str(paths[name])]
        assert seen["code"] == code, (name, seen)
        assert seen["grown_mib"] < GROWTH_LIMIT_MIB, (name, seen)
        for language in ("en", "zh"):
            text = CATALOGUES[language][f"model_file.{code}"].format(**seen["values"])
            assert named in text, (name, language, text)


def test_every_setting_keras_gives_an_allowed_layer_is_decided():
    """Fails when a Keras release adds a key to an allowed layer's get_config() (or to a saved
    layer's record) that LAYER_KEYS has not decided on: decide it in mnist_core/modelfile/allow.py."""
    import keras
    from keras import layers
    needs = {"Dense": (2,), "Conv2D": (2, 3), "DepthwiseConv2D": (3,), "SeparableConv2D": (2, 3),
             "AveragePooling2D": (2,), "Reshape": ((2,),), "Dropout": (0.1,), "SpatialDropout2D": (0.1,),
             "GaussianNoise": (0.1,), "Activation": ("relu",), "RandomRotation": (0.1,), "RandomZoom": (0.1,),
             "RandomTranslation": (0.1, 0.1), "RandomContrast": (0.1,), "Rescaling": (0.5,)}
    allowed = allow.ALLOWED_CLASSES["keras.layers"] - {"InputLayer"}
    assert allowed <= set(allow.LAYER_KEYS)
    undecided = {}
    for kind in sorted(allowed):
        keys = set(getattr(layers, kind)(*needs.get(kind, ())).get_config()) - set(allow.LAYER_KEYS[kind])
        if keys:
            undecided[kind] = keys
    keys = set(layers.InputLayer(shape=(28, 28)).get_config()) - set(allow.LAYER_KEYS["InputLayer"])
    if keys:
        undecided["InputLayer"] = keys
    model = keras.Sequential([layers.Input((28, 28)), layers.Flatten(), layers.Dense(10, activation="softmax")])
    saved = keras.saving.serialize_keras_object(model)
    for node in [saved, *saved["config"]["layers"]]:
        extra = set(node) - allow.NODE_KEYS - {"compile_config"}
        if extra:
            undecided[node["class_name"] + " (record)"] = extra
    extra = set(saved["config"]) - set(allow.LAYER_KEYS["Sequential"])
    if extra:
        undecided["Sequential"] = extra
    assert not undecided, f"Keras {keras.__version__}: {undecided}"


@pytest.mark.parametrize("name", ["lora_rank", "unknown_setting", "lying_build_config"])
def test_each_hostile_key_is_named_without_building(name):
    make, code, named = HOSTILE[name]
    with pytest.raises(storage.ModelFileError) as refused:
        storage.checked_cost(json.loads(zipfile.ZipFile(io.BytesIO(make())).read("config.json")))
    assert refused.value.code == code and named in str(refused.value.values)
