"""Predict as a fragment (#19) that answers a fresh link with the best reader (#17): AppTest, no browser.

Every figure is checked against plain Keras on the same 28x28 the page shows.
"""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from .conftest import ROOT
from .test_app import _png, open_page, texts

BEST, TUTORIAL = ROOT / "models" / "default.keras", ROOT / "models" / "tutorial.keras"


@pytest.fixture(scope="module")
def keras_models():
    from mnist_core import storage
    return {name: storage.load_model(path)[0] for name, path in (("best", BEST), ("tutorial", TUTORIAL))}


def keras_argmax(model, image28: np.ndarray) -> int:
    batch = image28.astype(np.float32).reshape((1,) + tuple(model.input_shape[1:])) / 255.0
    return int(model.predict(batch, verbose=0)[0].argmax())


def metric(at, label: str):
    return next((m for m in at.metric if m.label == label), None)


def smiley_photo(size: int = 280) -> bytes:
    """A face drawn in dark ink on white, as a photo of a drawing would be: no digit at all."""
    picture = Image.new("L", (size, size), 255)
    pen = ImageDraw.Draw(picture)
    pen.ellipse((30, 30, 250, 250), outline=0, width=14)
    pen.ellipse((90, 95, 115, 120), fill=0)
    pen.ellipse((165, 95, 190, 120), fill=0)
    pen.arc((85, 120, 195, 210), start=20, end=160, fill=0, width=14)
    return _png(np.asarray(picture))


def test_a_fresh_link_is_answered_by_the_best_reader_with_the_notes_network_beside(mnist, keras_models):
    at = open_page("predict", index="3")
    assert not at.exception
    banner = "\n".join(i.value for i in at.info)
    assert "best CNN" in banner                                  # the page names the model that answers
    image = mnist.x_test[3]
    assert metric(at, "Prediction").value == str(keras_argmax(keras_models["best"], image))
    beside = metric(at, "the note's network says")
    assert beside is not None and beside.value == str(keras_argmax(keras_models["tutorial"], image))
    assert "model" not in at.query_params                      # a link copied from here stays fresh


def test_a_smiley_on_a_fresh_link_gets_no_digit_from_the_headline(keras_models):
    at = open_page("predict", source="upload")
    at.file_uploader(key="predict_upload_0").upload("smiley.png", smiley_photo(), "image/png").run()
    assert not at.exception
    assert metric(at, "Prediction").value == "?"                 # the best reader withholds it
    beside = metric(at, "the note's network says")
    if beside.value != "?":                                     # and says why they differ
        assert "has only ever seen digits" in texts(at)


@pytest.mark.parametrize("how", ["link", "train"])
def test_once_a_model_is_chosen_it_answers(mnist, keras_models, how):
    if how == "link":
        at = open_page("predict", index="3", model="tutorial")  # a link that names the note's network
    else:
        at = open_page("train")
        at.radio(key="train_active").set_value("best").run()
        at.radio(key="train_active").set_value("tutorial").run()
        at.switch_page("app_pages/predict.py")
        at.query_params["index"] = "3"
        at.run()
    assert not at.exception
    assert "the note's network" in "\n".join(i.value for i in at.info)
    assert metric(at, "the note's network says") is None
    assert metric(at, "Prediction").value == str(keras_argmax(keras_models["tutorial"], mnist.x_test[3]))


def test_the_fragment_keeps_everything_a_drawing_shows(mnist, keras_models):
    photo = 255 - np.kron(mnist.x_test[0], np.ones((10, 10), np.uint8))   # a dark-on-light "7"
    at = open_page("predict", source="upload", model="best")
    at.file_uploader(key="predict_upload_0").upload("seven.png", _png(photo), "image/png").run()
    assert not at.exception
    assert metric(at, "Prediction").value == "7"
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1                                     # the probabilities, nothing more yet
    import json
    bars = json.loads(charts[0].proto.spec)["layer"][0]["data"]["values"]   # inline: no data frame
    studio_seen = at.session_state["predict_seen"]
    expected = keras_models["best"].predict(studio_seen.model_image.reshape(1, 28, 28, 1), verbose=0)[0]
    np.testing.assert_allclose([bar["probability"] for bar in bars], expected, atol=1e-4)
    assert [bar["digit"] for bar in bars if bar["top"]] == [int(expected.argmax())]
    alts = [image.alt for element in at.get("image") for image in element.proto.imgs]
    assert "The drawing as the model sees it, 28×28 pixels; it reads 7" in alts
    assert any(e.label == "Wrong? Teach it" for e in at.expander)            # teach hangs off the answer
    assert not any(m.label.startswith("best CNN") for m in at.metric)       # compare: closed, not computed

    at.session_state["predict_compare_open"] = True                         # open: both bundled models
    at.run()
    assert metric(at, "best CNN ✓").value == str(keras_argmax(keras_models["best"], mnist.x_test[0]))
    assert metric(at, "the note's network").value == str(keras_argmax(keras_models["tutorial"], mnist.x_test[0]))

    assert metric(at, "With MNIST's preprocessing") is None                  # the steps: closed
    at.session_state["predict_inspector_open"] = True
    at.run()
    assert metric(at, "With MNIST's preprocessing").value == "7"

    at.session_state["inside_view"] = "layers"                               # inside, when opened
    at.run()
    captions = [image.caption for element in at.get("image") for image in element.proto.imgs]
    assert "conv1 · 40 feature maps" in captions or any(c.startswith("conv") for c in captions)
    assert metric(at, "Prediction").value == "7" and not at.exception       # the answer stays


def test_a_drawing_is_read_once_per_drawing(mnist, monkeypatch):
    """A rerun that does not change the drawing (here: opening the comparison) preprocesses nothing."""
    import mnist_core.preprocess
    calls = []
    real = mnist_core.preprocess.canvas_to_mnist_steps
    monkeypatch.setattr(mnist_core.preprocess, "canvas_to_mnist_steps",
                        lambda picture: calls.append(1) or real(picture))
    photo = 255 - np.kron(mnist.x_test[0], np.ones((10, 10), np.uint8))
    at = open_page("predict", source="upload", model="best")
    at.file_uploader(key="predict_upload_0").upload("seven.png", _png(photo), "image/png").run()
    assert len(calls) == 1
    at.session_state["predict_compare_open"] = True
    at.run()
    assert len(calls) == 1 and metric(at, "Prediction").value == "7"


@pytest.mark.parametrize("page, answering, not_answering", [("predict", "best CNN", "the note's network"),
                                                            ("evaluate", "the note's network", "best CNN")])
def test_the_sidebar_names_the_model_answering_on_the_page(page, answering, not_answering):
    """A fresh link: Predict answers with the best reader, Evaluate with the note's network; the
    sidebar's "Model" names the same one as the page's banner (#27)."""
    at = open_page(page, index="3")
    assert not at.exception
    banner = "\n".join(i.value for i in at.info)
    sidebar = "\n".join(m.value for m in at.sidebar.markdown)
    assert answering in banner and answering in sidebar and not_answering not in sidebar
