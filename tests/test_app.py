"""Every page through Streamlit's AppTest harness (no browser): renders, widgets, real behaviour."""

import io
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from .conftest import ROOT

APP = str(ROOT / "streamlit_app.py")
TIMEOUT = 180


@pytest.fixture(autouse=True)
def _data_env(mnist_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(mnist_path))


def open_page(page: str | None = None, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for name, value in query.items():
        at.query_params[name] = value
    at.run()
    if page:
        at.switch_page(f"app_pages/{page}.py")
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + \
            [i.value for i in at.info] + [w.value for w in at.warning] + [e.value for e in at.error] + \
            [s.value for s in at.success]
    return "\n".join(parts)


@pytest.mark.parametrize("page", [None, "explore", "train", "evaluate", "predict"])
def test_every_page_renders_without_error(page):
    at = open_page(page)
    assert at.title and not at.error
    assert any(m.value.startswith("Bundled: ") for m in at.sidebar.markdown)  # the sidebar, every page
    assert any(c.value.startswith("MNIST: ") for c in at.sidebar.caption)


def test_overview_links_every_step_and_shows_the_active_model():
    at = open_page()
    assert len(at.get("page_link")) == 5        # the tutorial, then the four steps
    assert any(m.value.startswith("Bundled: ") and "%" in m.value for m in at.main.markdown)


def test_explore_deep_link_shows_test_image_0_as_a_7():
    at = open_page("explore", split="test", index="0")
    assert at.number_input(key="explore_index_test").value == 0
    assert "`test_labels[0]` = **7**" in texts(at)
    assert "passes" in at.code[-1].value and "FAILS" not in at.code[-1].value


def test_explore_writes_its_view_into_the_url():
    at = open_page("explore")
    at.number_input(key="explore_index_test").set_value(1).run()
    assert at.query_params["index"] == "1" and at.query_params["split"] == "test"
    assert "`test_labels[1]` = **2**" in texts(at)


@pytest.mark.parametrize("bad", ["-1", "abc", "99999", "1e9", ""])
def test_explore_survives_nonsense_in_the_url(bad):
    at = open_page("explore", index=bad)
    assert at.number_input(key="explore_index_test").value == 0
    assert any("Ignored" in note for note in at.session_state["url_notes"])


def test_explore_filter_by_label(mnist):
    at = open_page("explore")
    at.pills(key="explore_filter").set_value([3]).run()
    assert f"{(mnist.y_test == 3).sum():,} test images match" in texts(at)


def test_explore_never_imports_tensorflow(mnist_path):
    code = f"""
import sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({APP!r}, default_timeout=120)
at.run(); at.switch_page("app_pages/explore.py"); at.run()
assert not at.exception, [e.value for e in at.exception]
assert at.title[0].value == "Explore the data"
assert "tensorflow" not in sys.modules, "Explore imported TensorFlow"
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            env=dict(os.environ, MNIST_DATA=str(mnist_path)), timeout=300)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-2000:]


def test_train_page_shows_the_tutorial_by_default():
    at = open_page("train")
    assert at.selectbox(key="train_arch").value == "dense"
    assert at.number_input(key="train_dense_hidden_units").value == 512
    assert at.selectbox(key="train_dense_optimizer").value == "rmsprop"
    assert at.slider(key="train_epochs").value == 5
    assert at.select_slider(key="train_batch").value == 128
    code = "\n".join(c.value for c in at.code)
    assert "layers.Dense(512, activation=\"relu\")" in code and "epochs=5, batch_size=128" in code
    assert "407,050 parameters" in texts(at)


WAIT_SECONDS = 600     # generous, for a machine busy with other work: a passing test never waits it out


def wait_for(at, predicate, seconds=WAIT_SECONDS):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if predicate(at):
            return True
    return False


def start_tiny_run(at, epochs=1, hidden=32):
    at.slider(key="train_epochs").set_value(epochs).run()
    at.number_input(key="train_dense_hidden_units").set_value(hidden).run()
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception


def test_training_runs_in_the_background_and_becomes_usable():
    at = open_page("train")
    start_tiny_run(at)
    studio = at.session_state["studio"]
    job = studio.jobs["run-1"]
    assert wait_for(at, lambda a: getattr(job.job, "worker_pid", None))
    assert job.job.worker_pid != os.getpid()                 # trained in a worker process, not here
    assert wait_for(at, lambda a: any("finished" in s.value for s in a.success))
    # The finished run is the active model at once, on every page, and says so.
    run = studio.models["run-1"]
    assert studio.active() is run and run.test_accuracy > 0.85 and run.kind == "run"
    assert at.radio(key="train_active").value == "run-1"
    assert any(m.value.startswith("Your run 1") for m in at.sidebar.markdown)
    assert any(b.label.startswith("Download") for b in at.get("download_button"))
    # The filters and the map, as they were after the last epoch (for watching them form).
    assert any("clusters form as it learns" in c.value for c in at.caption)
    assert all(p.growth is not None for p in job.snapshot().epochs)
    at.switch_page("app_pages/evaluate.py").run()
    assert {m.label: m.value for m in at.metric}["Test accuracy"] == f"{run.test_accuracy:.2%}"
    assert any("Your run 1" in i.value for i in at.main.info)
    # Switching back to the bundled model is one click.
    at.switch_page("app_pages/train.py").run()
    at.radio(key="train_active").set_value("tutorial").run()
    assert studio.active().key == "tutorial"
    assert any(m.value.startswith("Bundled: ") for m in at.sidebar.markdown)


def test_stop_keeps_the_finished_part():
    at = open_page("train")
    start_tiny_run(at, epochs=30, hidden=64)
    studio = at.session_state["studio"]
    job = studio.jobs["run-1"]
    assert wait_for(at, lambda a: bool(job.snapshot().batches))
    stop = next(b for b in at.button if b.label == "Stop")
    stop.click().run()
    assert wait_for(at, lambda a: job.done)
    at.run()   # the job may finish just after a rerun; the page shows it on the next one
    assert job.state == "stopped" and any("stopped early" in s.value for s in at.success)
    assert studio.models["run-1"].model is not None and studio.active_key == "run-1"


def test_sessions_do_not_see_each_others_runs():
    first = open_page("train")
    start_tiny_run(first)
    second = open_page("train")
    assert second.session_state["studio"].jobs == {} and second.session_state["studio"].models == {}
    assert first.session_state["studio"] is not second.session_state["studio"]
    first.session_state["studio"].jobs["run-1"].join(120)


@pytest.mark.parametrize("key, file", [(None, "tutorial.keras"), ("best", "default.keras")])
def test_evaluate_matches_keras_on_the_bundled_models(mnist, key, file):
    """A fresh link evaluates the note's network (≈ 98 %, as the note says); ?model=best the CNN."""
    at = open_page("evaluate", **({"model": key} if key else {}))
    from mnist_core import storage
    from mnist_core.training import model_input
    model, _ = storage.load_model(ROOT / "models" / file)
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
    _, accuracy = model.evaluate(model_input(mnist.x_test, model), np.eye(10)[mnist.y_test], verbose=0)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test accuracy"] == f"{accuracy:.2%}"
    assert "`predictions[1].argmax()` = **2**" in texts(at)
    assert at.query_params["model"] == (key or "tutorial")
    if key is None:
        assert 0.975 <= accuracy <= 0.985


def test_evaluate_cell_from_url_shows_its_images(mnist):
    at = open_page("evaluate", true="7", pred="2")
    assert at.selectbox(key="eval_true").value == 7 and at.selectbox(key="eval_pred").value == 2
    assert "7s read as 2" in texts(at)


def test_predict_deep_link_reads_test_image_1_as_a_2():
    at = open_page("predict", index="1")
    assert at.session_state["predict_source"] == "test"
    prediction = next(m for m in at.metric if m.label == "Prediction")
    assert prediction.value == "2"


def _png(array) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_predict_reads_an_uploaded_photo(mnist):
    at = open_page("predict", source="upload")
    photo = 255 - np.kron(mnist.x_test[0], np.ones((10, 10), np.uint8))   # a dark-on-light "7"
    at.file_uploader(key="predict_upload_0").upload("seven.png", _png(photo), "image/png").run()
    assert not at.exception
    assert next(m for m in at.metric if m.label == "Prediction").value == "7"


@pytest.mark.parametrize("payload, message", [
    (b"%PDF-1.4 not a picture", "not a picture"),
    (b"", "empty"),
    (_png(np.zeros((1, 1), np.uint8)), "too small"),
])
def test_predict_explains_bad_uploads(payload, message):
    at = open_page("predict", source="upload")
    at.file_uploader(key="predict_upload_0").upload("x.png", payload, "image/png").run()
    assert not at.exception
    assert message in texts(at)
    assert at.file_uploader(key="predict_upload_1").value is None    # the refused file is gone


def test_predict_blank_upload_is_not_a_digit():
    at = open_page("predict", source="upload")
    at.file_uploader(key="predict_upload_0").upload("blank.png", _png(np.full((100, 100), 255, np.uint8)),
                                                  "image/png").run()
    assert "no digit" in texts(at) and not any(m.label == "Prediction" for m in at.metric)


def test_predict_waits_for_a_drawing():
    at = open_page("predict")
    assert at.session_state["predict_source"] == "draw"
    assert "Waiting for a digit" in texts(at)


def test_streamlit_no_longer_clears_keras_under_a_running_job(monkeypatch):
    """Streamlit's after-run clean-up must not call keras.backend.clear_session (see studio/server/runtime)."""
    import keras
    from streamlit.runtime.scriptrunner import script_runner

    from studio.server.runtime import keep_keras_state_across_reruns
    calls = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *a, **k: calls.append(1))
    monkeypatch.setattr(script_runner, "_clean_problem_modules", script_runner._clean_problem_modules)
    keep_keras_state_across_reruns()
    script_runner._clean_problem_modules.streamlit_original()
    assert calls, "Streamlit no longer clears Keras: studio/server/runtime.py can go"
    calls.clear()
    script_runner._clean_problem_modules()
    assert not calls


def test_line_charts_keep_their_series_and_stay_small():
    import pandas as pd
    from unittest import mock

    import streamlit as st

    from studio.ui import charts
    frame = pd.DataFrame({"epoch": np.linspace(0, 5, 3000), "loss": 1.0, "series": ["a", "b"] * 1500})
    with mock.patch.object(st, "vega_lite_chart") as chart:
        charts.line_chart(frame, x="epoch", y="loss", color="series")
    values = chart.call_args[0][0]["layer"][0]["data"]["values"]
    assert {row["series"] for row in values} == {"a", "b"}
    assert len(values) <= 2 * charts.MAX_LINE_POINTS


@pytest.mark.parametrize("arch", ["cnn_fast", "cnn_best"])
def test_train_page_shows_the_presets_with_their_recipe(arch):
    at = open_page("train", arch=arch)
    assert at.selectbox(key="train_arch").value == arch
    assert at.selectbox(key=f"train_{arch}_schedule").value == "one_cycle"
    code = "\n".join(c.value for c in at.code)
    assert "CosineDecay" in code and "strides=2" in code
    from mnist_core.networks.presets import ARCHITECTURES
    assert f"Train it for {ARCHITECTURES[arch].epochs} epochs" in texts(at)
    assert at.slider(key="train_epochs").value == ARCHITECTURES[arch].epochs
    assert at.select_slider(key="train_batch").value == ARCHITECTURES[arch].batch_size


def test_choosing_an_architecture_starts_from_its_recommended_run():
    from mnist_core.networks.presets import ARCHITECTURES
    at = open_page("train")

    def recipe_shown():
        return (at.slider(key="train_epochs").value, at.select_slider(key="train_batch").value,
                at.slider(key="train_val").value)

    for arch in ("cnn_best", "cnn_fast"):
        at.selectbox(key="train_arch").set_value(arch).run()
        preset = ARCHITECTURES[arch]
        assert recipe_shown() == (preset.epochs, preset.batch_size, pytest.approx(preset.validation_split))
    at.slider(key="train_epochs").set_value(4).run()          # the learner's own choice stays
    assert at.slider(key="train_epochs").value == 4 and not at.exception and not at.warning
    at.selectbox(key="train_arch").set_value("dense").run()    # back to the tutorial's 5 epochs
    assert at.slider(key="train_epochs").value == 5
    assert open_page("train", arch="cnn_best", epochs="4").slider(key="train_epochs").value == 4


def test_pages_without_data_needs_do_not_load_mnist(mnist_path):
    """Overview and Predict (drawing) must not load MNIST: offline they would wait on a download."""
    code = f"""
from streamlit.testing.v1 import AppTest
from studio.session import dataset
for page in (None, "app_pages/predict.py"):
    at = AppTest.from_file({APP!r}, default_timeout=120)
    at.run()
    if page:
        at.switch_page(page); at.run()
    assert not at.exception, [e.value for e in at.exception]
assert not dataset.loaded_yet() and dataset.problem() is None, "MNIST was loaded"
assert any("loads when a page needs it" in c.value for c in at.sidebar.caption)
at.switch_page("app_pages/explore.py"); at.run()
assert dataset.loaded_yet()
assert any(c.value == "MNIST: local files" for c in at.sidebar.caption)
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            env=dict(os.environ, MNIST_DATA=str(mnist_path)), timeout=300)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]


def test_predict_learns_from_a_correction_in_the_session(mnist):
    at = open_page("predict", source="upload", model="best")
    photo = 255 - np.kron(mnist.x_test[0], np.ones((10, 10), np.uint8))   # a dark-on-light "7"
    at.file_uploader(key="predict_upload_0").upload("seven.png", _png(photo), "image/png").run()
    at.session_state["teach_label"] = 1                   # the learner insists it is a 1
    at.run()
    next(b for b in at.button if b.label == "Learn from this").click().run()
    assert not at.exception
    said = texts(at)
    assert "Learned from 1 correction(s)" in said and "taught copy" in said
    assert "taught 1×" in "\n".join(i.value for i in at.info)          # the banner names the copy
    studio = at.session_state["studio"]
    assert studio.active().kind == "tuned" and len(studio.corrections) == 1
    assert studio.corrections[0][1] == 1
    other = open_page("predict", model="best")                         # another session: untouched
    assert other.session_state["studio"].corrections == []


def test_a_lesson_that_fails_says_so_and_keeps_the_correction(mnist, monkeypatch):
    import studio.predict.teach

    def broken(*args):
        raise RuntimeError("TensorFlow fell over")
    monkeypatch.setattr(studio.predict.teach, "_learn", broken)
    at = open_page("predict", source="upload", model="best")
    photo = 255 - np.kron(mnist.x_test[0], np.ones((10, 10), np.uint8))
    at.file_uploader(key="predict_upload_0").upload("seven.png", _png(photo), "image/png").run()
    at.session_state["teach_label"] = 7
    at.run()
    next(b for b in at.button if b.label == "Learn from this").click().run()
    assert not at.exception
    assert "The lesson failed on the server" in texts(at) and "fell over" not in texts(at)
    studio = at.session_state["studio"]
    assert len(studio.corrections) == 1 and studio.active().kind == "bundled"
