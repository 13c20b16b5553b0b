"""Reliability through the app: hostile files, nonsense URLs, no data, no double starts, no shared writes."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from .conftest import ROOT
from .test_app import APP, open_page, start_tiny_run, texts, wait_for


@pytest.fixture(autouse=True)
def _data_env(mnist_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(mnist_path))


def upload_model(at, payload: bytes, name="model.keras"):
    at.expander[0]    # the "use a model of your own" expander exists
    attempt = at.session_state["model_upload_attempt"]
    at.file_uploader(key=f"model_upload_{attempt}").upload(name, payload, "application/octet-stream").run()
    assert not at.exception, [e.value for e in at.exception]


def trained_session():
    at = open_page("train")
    start_tiny_run(at)
    assert wait_for(at, lambda a: any("finished" in s.value for s in a.success))
    studio = at.session_state["studio"]
    assert studio.active_key == "run-1"           # a finished run is the active model at once
    return at, studio


def lambda_model_bytes(tmp_path):
    model = keras.Sequential([keras.Input((784,)), keras.layers.Lambda(lambda x: x * 2),
                              keras.layers.Dense(10, activation="softmax")])
    path = tmp_path / "lambda.keras"
    model.save(path)
    return path.read_bytes()


def global_state_model_bytes(tmp_path):
    """A model whose activation is keras.config.set_max_epochs: it broke every later training."""
    import json
    import zipfile
    from mnist_core import storage
    path = storage.save_model(keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")]),
                              tmp_path / "hostile.keras")
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(entries["config.json"])
    config["config"]["layers"][0]["config"]["activation"] = {
        "module": "keras.config", "class_name": "function", "config": "set_max_epochs",
        "registered_name": None}
    entries["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path.read_bytes()


@pytest.mark.parametrize("kind", ["random", "lambda", "wrong_shape", "global_state"])
def test_bad_model_upload_is_refused_and_loses_nothing(tmp_path, kind):
    at, studio = trained_session()
    run_key = studio.active().key
    if kind == "random":
        payload, message = np.random.default_rng(0).bytes(4000), "not a .keras model file"
    elif kind == "lambda":
        payload, message = lambda_model_bytes(tmp_path), "Lambda"
    elif kind == "global_state":
        payload, message = global_state_model_bytes(tmp_path), "not an activation"
    else:
        path = tmp_path / "cifar.keras"
        keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(),
                          keras.layers.Dense(10, activation="softmax")]).save(path)
        payload, message = path.read_bytes(), "takes inputs shaped"
    upload_model(at, payload)
    assert message in texts(at)
    assert studio.active().key == run_key                  # the active model is untouched
    assert list(studio.models) == ["run-1"] and studio.models["run-1"].model is not None
    attempt = at.session_state["model_upload_attempt"]
    assert at.file_uploader(key=f"model_upload_{attempt}").value is None   # the refused file is gone
    if kind == "global_state":   # and the next training, in this process, still works
        start_tiny_run(at)
        assert wait_for(at, lambda a: studio.active_key == "run-2")     # handed over, applied by a run
        assert studio.jobs["run-2"].snapshot().state == "finished"


def test_good_model_upload_becomes_active_with_measured_accuracy(mnist, tmp_path):
    from mnist_core import storage
    from mnist_core.training import model_input
    # A real model whose file claims an accuracy it does not have.
    model, metadata = storage.load_model(ROOT / "models" / "default.keras")
    path = storage.save_model(model, tmp_path / "liar.keras", metadata | {"test_accuracy": 1.0})
    at = open_page("train")
    upload_model(at, path.read_bytes())
    active = at.session_state["studio"].active()
    assert active.key.startswith("upload-") and active.kind == "upload"
    assert any(m.value.startswith("Your upload") for m in at.sidebar.markdown)   # not stale
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
    _, accuracy = model.evaluate(model_input(mnist.x_test, model), np.eye(10)[mnist.y_test], verbose=0)
    # The accuracy shown is measured here, never taken from the file's own metadata.
    assert active.test_accuracy == pytest.approx(accuracy, abs=1e-4)
    assert active.test_accuracy < 1.0


def test_a_second_start_while_running_is_not_possible():
    at = open_page("train")
    start_tiny_run(at, epochs=20, hidden=64)
    start = next(b for b in at.button if b.label == "Start training")
    assert start.disabled
    studio = at.session_state["studio"]
    studio.jobs["run-1"].stop()
    assert wait_for(at, lambda a: studio.jobs["run-1"].done)
    at.run()   # the job may finish after a rerun drew the button; the page reruns on finishing too
    assert not next(b for b in at.button if b.label == "Start training").disabled
    assert len(studio.jobs) == 1


@pytest.mark.parametrize("page, query", [
    ("train", {"epochs": "999"}), ("train", {"arch": "<script>alert(1)</script>"}),
    ("explore", {"index": "`[x](http://e.vil)`"}),
    ("train", {"epochs": "-3"}), ("evaluate", {"true": "x", "pred": "11"}),
    ("predict", {"index": "-1"}), ("predict", {"index": "99999"}), ("predict", {"source": "ftp"}),
    ("explore", {"split": "validation", "index": "1.5"}),
])
def test_nonsense_in_the_url_falls_back_with_a_note(page, query):
    at = open_page(page, **query)
    assert not at.error
    assert at.session_state["url_notes"]
    for note in at.session_state["url_notes"]:
        assert "<" not in note and "(" not in note.split(":")[0]   # the visitor's text is defanged


def test_no_data_and_no_internet(tmp_path, mnist_path):
    """Offline with nothing local: data pages explain MNIST_DATA; Predict still works."""
    code = f"""
from streamlit.testing.v1 import AppTest
def page(name):
    at = AppTest.from_file({APP!r}, default_timeout=120)
    at.run()
    if name:
        at.switch_page(f"app_pages/{{name}}.py"); at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at
for name in ("explore", "evaluate"):
    at = page(name)
    assert any("MNIST is not available" in e.value for e in at.error), name
    assert any("MNIST_DATA" in m.value for m in at.markdown), name
at = page("predict")
assert not at.error and any("Waiting for a digit" in i.value for i in at.info)
at.segmented_control(key="predict_source").set_value("test").run()
assert not at.exception and any("need MNIST" in w.value for w in at.warning)
at = page(None)
assert any("not available" in c.value for c in at.sidebar.caption)
print("ok")
"""
    env = {k: v for k, v in os.environ.items() if k != "MNIST_DATA"}
    env.update(HOME=str(tmp_path), MNIST_STUDIO_DOWNLOAD_URL="http://127.0.0.1:9/mnist.npz")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]


def project_files():
    skip = {"test-artifacts", "__pycache__", ".pytest_cache", ".git"}
    return {path: path.stat().st_mtime for path in ROOT.rglob("*")
            if path.is_file() and not skip.intersection(path.relative_to(ROOT).parts)}


def test_using_the_app_writes_no_shared_files():
    before = project_files()
    at, studio = trained_session()
    assert any(b.label.startswith("Download") for b in at.get("download_button"))
    upload_model(at, (ROOT / "models" / "default.keras").read_bytes())
    assert project_files() == before
