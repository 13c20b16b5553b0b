"""The guided tutorial: every step of the note, with its own address, in both languages; and the
matplotlib figures against pyplot's own drawing."""

import json
import re

import numpy as np
import pytest

from .conftest import ROOT
from .test_app import open_page, wait_for

ZH = json.loads((ROOT / "studio" / "ui" / "locales" / "zh.json").read_text("utf-8"))


@pytest.fixture(autouse=True)
def _data_env(mnist_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(mnist_path))


def codes(at) -> str:
    return "\n".join(c.value for c in at.code)


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("step", range(1, 11))
def test_every_step_has_its_address_and_renders(step, lang):
    at = open_page("tutorial", step=str(step), lang=lang)
    assert not at.exception and not at.error
    assert at.session_state["tutorial_step"] == step and at.query_params["step"] == str(step)
    assert at.code, "every step shows the note's code"


def test_next_and_previous_walk_the_steps():
    at = open_page("tutorial")
    assert at.session_state["tutorial_step"] == 1
    next(b for b in at.button if b.label == "Next").click().run()
    assert at.session_state["tutorial_step"] == 2 and at.query_params["step"] == "2"
    next(b for b in at.button if b.label == "Previous").click().run()
    assert at.session_state["tutorial_step"] == 1


def test_the_notes_shape_asserts_fail_as_written_and_pass_corrected():
    text = codes(open_page("tutorial", step="2"))
    assert re.search(r"assert train_labels.shape == \(60000, 10\)\s+# AssertionError", text)
    assert re.search(r"assert train_labels.shape == \(60000,\)\s+# passes", text)
    assert re.search(r"assert train_images.shape == \(60000, 28, 28\)\s+# passes", text)


def test_test_image_0_is_drawn_with_matplotlib_and_is_a_7():
    at = open_page("tutorial", step="3")
    assert "plt.imshow(digit, cmap=plt.cm.binary)" in codes(at)
    assert len(at.get("image")) == 1          # st.pyplot's figure, sent as an image
    assert any("**7**" in m.value for m in at.markdown)


def test_model_summary_is_what_keras_prints():
    text = codes(open_page("tutorial", step="4"))
    for count in ("401,920", "5,130", "407,050"):
        assert count in text
    assert "Total params" in text and "dense_1 (Dense)" in text


def test_prepare_shows_784_values_divided_by_255(mnist):
    text = codes(open_page("tutorial", step="6"))
    assert "(28, 28) → (784,)" in text
    vector = mnist.x_train[0].reshape(784)
    start = int(np.flatnonzero(vector)[0])
    assert np.array2string(vector[start:start + 8]) in text
    assert np.array2string(vector[start:start + 8].astype(np.float32) / 255, precision=4) in text


def test_one_hot_of_test_label_0():
    text = codes(open_page("tutorial", step="7"))
    assert "before: 7 → after: [0. 0. 0. 0. 0. 0. 0. 1. 0. 0.]" in text
    zh = codes(open_page("tutorial", step="7", lang="zh"))
    assert f"{ZH['tutorial.prepare.before']}: 7 → {ZH['tutorial.prepare.after']}: [0. 0. 0. 0. 0. 0. 0. 1. 0. 0.]" in zh


def test_predict_step_reads_image_1_with_argmax_and_shows_what_the_loop_prints():
    from mnist_core import storage
    at = open_page("tutorial", step="10")
    text = codes(at)
    model, _ = storage.load_model(ROOT / "models" / "tutorial.keras")
    x_test = __import__("mnist_core").data.load_mnist().x_test
    # The reference is the note's own program, run in plain Keras on the note's preprocessing
    # (not the app's Predictor and evaluation, which the page uses), checked against NumPy.
    test_images = x_test.reshape((10000, 28 * 28)).astype("float32") / 255
    res = model.predict(test_images[:2], verbose=0)
    w1, b1, w2, b2 = model.get_weights()
    logits = np.maximum(test_images[1] @ w1 + b1, 0) @ w2 + b2
    numpy_row = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(res[1], numpy_row, atol=1e-5)
    printed = [i for i in range(10) if res[1][i] == 1]           # what the note's loop prints
    assert f"# prints: {printed if printed else 'nothing'}" in text
    assert f"print(res[1].argmax())\n# {int(numpy_row.argmax())}" in text


def test_fit_step_trains_the_notes_network_with_keras_style_log():
    at = open_page("tutorial", step="8")
    next(b for b in at.button if b.label == "Train it as the note does").click().run()
    studio = at.session_state["studio"]
    job = studio.jobs["run-1"]
    assert job.spec.arch == "dense" and job.spec.epochs == 5 and job.spec.batch_size == 128
    assert wait_for(at, lambda a: any("finished" in s.value for s in a.success))
    log = codes(at)
    assert log.count("469/469") == 5 and "Epoch 5/5" in log and "accuracy: 0.9" in log
    assert studio.active_key == "run-1" and 0.97 < studio.active().test_accuracy < 0.99


def test_note_digit_is_what_pyplot_draws(mnist):
    """figures.note_digit draws the same pixels as the note's plt.imshow(digit, cmap=plt.cm.binary)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from studio.ui import figures
    digit = mnist.x_test[0]
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    ours = FigureCanvasAgg(figures.note_digit(digit))
    ours.draw()
    reference = plt.figure(figsize=(3.2, 3.2), dpi=100)
    plt.imshow(digit, cmap=plt.cm.binary)
    plt.tight_layout()
    reference.canvas.draw()
    np.testing.assert_array_equal(np.asarray(ours.buffer_rgba()),
                                  np.asarray(reference.canvas.buffer_rgba()))
    plt.close(reference)


def test_figures_for_slides_are_png_and_svg_with_chinese_labels():
    from studio.ui import figures
    history = {"loss": [0.3, 0.1], "accuracy": [0.9, 0.97], "val_loss": [0.2, 0.15], "val_accuracy": [0.93, 0.96]}
    figure = figures.training_curves(history, "run 1")
    png, svg = figures.as_file(figure, "png"), figures.as_file(figure, "svg")
    assert png.startswith(b"\x89PNG") and b"<svg" in svg[:400]
    matrix = np.diag(np.full(10, 98)) + 1
    assert figures.as_file(figures.confusion_matrix(matrix, "混淆矩阵"), "png").startswith(b"\x89PNG")
    if not figures.has_cjk_font():
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    import io
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # "Glyph missing from font" is a warning: fail on it
        figures.as_file(figures.confusion_matrix(matrix, "混淆矩阵 · 测试"), "png")
    assert io.BytesIO(png).getbuffer().nbytes > 1000
