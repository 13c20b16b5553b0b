"""Reading the pen (#29): the canvas' json_data, the pen's features, the one reading call and the
combined reader's floor on the choose part."""

import json

import numpy as np
import pytest

from mnist_core.drawings import pen
from mnist_core.drawings.canvas import CANVAS, paint

from .conftest import ROOT

# A two-stroke 4 drawn with the mouse on the real canvas in Chromium (streamlit-drawable-canvas,
# fabric.js 7.4): its json_data as the component returned it.
CHROMIUM_FOUR = ROOT / "tests" / "data" / "canvas-two-stroke-four.json"


def chromium_four() -> dict:
    return json.loads(CHROMIUM_FOUR.read_text())


def test_the_canvas_json_of_a_two_stroke_four_gives_two_strokes_in_order_in_canvas_pixels():
    value = chromium_four()
    paths = [item["path"] for item in value["objects"]]
    strokes = pen.fabric_strokes(value)
    assert len(strokes) == 2
    for stroke, path in zip(strokes, paths):
        # Each stroke starts where the pen went down (M) and ends where it lifted (L), in canvas px.
        assert stroke[0] == pytest.approx(path[0][1:])
        assert stroke[-1] == pytest.approx(path[-1][1:])
        assert (stroke >= 0).all() and (stroke <= CANVAS).all()
        ends = [command[-2:] for command in path]       # every curve ends on the stroke
        assert all(np.linalg.norm(stroke - end, axis=1).min() < 1e-6 for end in ends)
    first, second = strokes
    # The first stroke: down the left, then across; the second: the upright, top to bottom.
    assert first[-1, 0] - first[0, 0] > 80 and first[-1, 1] > first[0, 1]
    assert np.ptp(second[:, 0]) < 1 and second[-1, 1] - second[0, 1] > 150


def test_a_path_moved_or_scaled_on_the_canvas_is_read_where_it_is_shown():
    value = chromium_four()
    as_drawn = pen.fabric_strokes(value)[1]
    moved = value["objects"][1] | {"left": value["objects"][1]["left"] + 30, "scaleY": 0.5}
    shown = pen.fabric_strokes({"objects": [moved]})[0]
    centre = (as_drawn.min(axis=0) + as_drawn.max(axis=0)) / 2
    assert shown[:, 0] == pytest.approx(as_drawn[:, 0] + 30, abs=1)
    assert shown[:, 1] == pytest.approx((as_drawn[:, 1] - centre[1]) * 0.5 + value["objects"][1]["top"], abs=1)


@pytest.mark.parametrize("value", [{"objects": "x"}, {"objects": [{"type": "path", "path": [["Z"]]}]},
                                   {"objects": [{"type": "path", "path": [["M", 1, "a"]]}]},
                                   {"objects": [{"type": "path", "path": [["M", 1, float("nan")]]}]},
                                   {"objects": [{"type": "path", "path": [["M", 1, 2]], "left": "far"}]},
                                   {"objects": [{"type": "path", "path": 5}]},            # crafted: crashed
                                   {"objects": [{"type": "path", "path": [5]}]},          # the page before
                                   {"objects": [{"type": "path", "path": [["M", [1], {}]]}]}])
def test_a_value_the_canvas_never_sends_is_refused_by_code(value):
    with pytest.raises(pen.CanvasDataError):
        pen.fabric_strokes(value)


def test_an_object_whose_type_is_not_a_name_is_no_path():
    assert pen.fabric_strokes({"objects": [{"type": 5, "path": [["M", 1, 2]]}]}) == []


def test_no_objects_or_no_paths_give_no_strokes():
    assert pen.fabric_strokes(None) == [] and pen.fabric_strokes({"objects": []}) == []
    assert pen.fabric_strokes({"objects": [{"type": "rect"}]}) == []


def test_the_canvas_path_of_pointer_positions_runs_from_the_first_to_the_last():
    points = np.array([[10, 10], [20, 30], [40, 35], [60, 20]], float)
    curve = pen.smoothed(points)
    assert curve[0] == pytest.approx(points[0]) and curve[-1] == pytest.approx(points[-1])
    mid = (points[1] + points[2]) / 2                  # fabric's curves pass through the midpoints
    assert np.linalg.norm(curve - mid, axis=1).min() < 1e-9


def test_features_do_not_depend_on_where_or_how_large_a_digit_is_drawn():
    strokes = [s for s in pen.fabric_strokes(chromium_four())]
    moved = [s * 0.5 + [20, 7] for s in strokes]
    assert pen.features(strokes) == pytest.approx(pen.features(moved), abs=1e-5)
    f = pen.features(strokes)
    assert f.shape == (pen.POINTS, pen.FEATURES)
    assert f[:, 5].sum() == 2 and f[:, 6].sum() == 2 and f[:, 4].any()      # 2 starts, 2 ends, a jump
    assert np.abs(f[:, :2]).max() == pytest.approx(0.5, abs=1e-3)
    reversed_order = pen.features(strokes[::-1])
    assert not np.allclose(f, reversed_order)                                # order is read
    assert not pen.features([]).any()


@pytest.fixture(scope="module")
def readers():
    from mnist_core.predict import best_reader, pen_reader
    found = pen_reader()
    assert found is not None, "models/pen-reader.keras is missing"
    return best_reader(), found


def canvas_rgba(strokes, brush=20):
    alpha = paint(strokes, brush)
    return np.dstack([np.full_like(alpha, 30), np.full_like(alpha, 27), np.full_like(alpha, 75), alpha])


def test_one_call_reads_the_canvas_with_both_readers_as_plain_keras_would(readers):
    from mnist_core.predict import read_canvas
    from mnist_core.preprocess import canvas_to_mnist
    image_reader, pen_reader = readers
    value = chromium_four()
    strokes = pen.fabric_strokes(value)
    rgba = canvas_rgba(strokes)
    reading = read_canvas(rgba, value, image_reader, pen_reader)
    image_p = image_reader.model.predict(canvas_to_mnist(rgba)[None, ..., None], verbose=0)[0]
    pen_p = pen_reader.model.predict(pen.features(strokes).reshape(1, -1), verbose=0)[0]
    w = pen_reader.image_weight
    assert reading.probabilities == pytest.approx(w * image_p + (1 - w) * pen_p, abs=1e-5)
    assert reading.readers["image"] == pytest.approx(image_p, abs=1e-5)
    assert reading.readers["pen"] == pytest.approx(pen_p, abs=1e-5)
    assert reading.sure == (reading.probabilities.max() >= pen_reader.withhold_below)
    assert reading.digit == 4


def test_a_photo_or_an_upload_is_read_by_the_image_alone(readers):
    from mnist_core.predict import read_canvas
    from mnist_core.preprocess import canvas_to_mnist
    image_reader, pen_reader = readers
    rgba = canvas_rgba(pen.fabric_strokes(chromium_four()))
    photo = np.ascontiguousarray(255 - rgba[..., 3])       # dark ink on white, no strokes: a scan
    expected = image_reader.read(canvas_to_mnist(photo), photo=True)
    for strokes in (None, chromium_four()):                # a photo's strokes, if any, are not read
        reading = read_canvas(photo, strokes, image_reader, pen_reader, photo=True)
        assert reading.readers == {}
        assert reading.probabilities == pytest.approx(expected.probabilities, abs=1e-6)
        assert (reading.digit, getattr(reading.problem, "code", None)) == \
            (expected.digit, getattr(expected.problem, "code", None))


def test_the_bundled_pen_reader_passes_the_model_file_checks(readers):
    from mnist_core import storage
    from mnist_core.modelfile import cost
    model, metadata = storage.load_model(storage.PEN_READER)      # the allow-listed loader
    assert cost.refusal(cost.of_model(model)) is None
    assert 0 <= metadata["image_weight"] <= 1 and metadata["trained_on"] == ["train", "choose"]


def test_both_bundled_readers_were_trained_by_the_protocol_with_one_frozen_choice():
    """mnist_core.runs.bundle wrote both files: the image reader from scratch (no earlier weights,
    #17's network, no generated digit styles in its mix) on train + choose, both carrying the same
    choice, made on the choose part, whose thresholds each reader uses."""
    from mnist_core import storage
    from mnist_core.drawings import strokes
    from mnist_core.runs import bundle
    image, pen_file = storage.read_metadata(storage.BEST_READER), storage.read_metadata(storage.PEN_READER)
    assert image["choice"] == pen_file["choice"] and image["chosen_on"] == pen_file["chosen_on"] == "choose"
    assert image["trained_on"] == pen_file["trained_on"] == ["train", "choose"]
    assert "started_from" not in image and image["drawing_mix"]["generated"] == 0
    assert image["drawing_mix"] == strokes.MIX and image["drawing_parts"] == ["train", "choose"]
    assert image["arch"] == bundle.IMAGE_ARCH and image["hparams"].items() >= bundle.IMAGE_HPARAMS.items()
    assert (image["epochs"], image["drawings"]) == (bundle.IMAGE_EPOCHS, bundle.IMAGE_DRAWINGS)
    choice = image["choice"]
    assert image["withhold_below"] == choice["image_withhold_below"]
    assert (pen_file["image_weight"], pen_file["withhold_below"], pen_file["pen_withhold_below"]) == \
        (choice["image_weight"], choice["withhold_below"], choice["pen_withhold_below"])


def test_both_readers_together_are_no_worse_than_the_image_reader_on_the_choose_part(readers):
    """The floor, computed: on the protocol's choose part (digits and letters), the image reader at the
    threshold the same rule chooses for it errs (digits named wrong + letters named) at least as often
    as the two readers combined as the bundled files say."""
    from mnist_core.drawings import penreader
    from mnist_core.predict import choose_threshold
    image_reader, pen_reader = readers
    parts = [penreader.drawn("choose", kind) for kind in ("digits", "letters")]
    labels = np.concatenate([p["labels"] for p in parts])
    image_p = np.concatenate([image_reader.predict_proba(p["images"]) for p in parts])
    pen_p = np.concatenate([pen_reader.model.predict(p["features"], verbose=0) for p in parts])
    both = pen_reader.image_weight * image_p + (1 - pen_reader.image_weight) * pen_p

    def errors(p, threshold):
        named = p.max(axis=1) >= threshold
        digits = labels < 10
        return ((named & digits & (p.argmax(axis=1) != labels)).sum() / digits.sum()
                + (named & ~digits).sum() / (~digits).sum())

    floor = errors(image_p, choose_threshold(image_p, labels))
    assert errors(both, pen_reader.withhold_below) <= floor


def test_what_the_canvas_returns_for_strokes_reads_back_as_those_strokes():
    from mnist_core.drawings.canvas import returned
    strokes = [np.array([[40.0, 30], [60, 90], [100, 120], [150, 125]]), np.array([[200.0, 40], [200, 250]])]
    rgba, value = returned(strokes, 18)
    assert rgba.shape == (CANVAS, CANVAS, 4) and rgba[..., 3].max() == 255
    back = pen.fabric_strokes(json.loads(json.dumps(value, default=float)))   # through JSON, as sent
    assert len(back) == 2
    for stroke, read in zip(strokes, back):
        assert read[0] == pytest.approx(stroke[0]) and read[-1] == pytest.approx(stroke[-1])
