"""A class's own handwriting (issue #28): every model measured on the class's drawings, against plain
NumPy and plain Keras; the readings CSV; and the class page (AppTest) showing both bundled models."""

from __future__ import annotations

import csv
import json
import io
import time

import numpy as np
import pytest

from mnist_core import storage
from mnist_core.drawings import classset
from mnist_core.predict import Predictor
from mnist_core.runstore import new_secret
from mnist_core.runstore.handwriting import Handwriting

from .test_handwriting_store import strokes
from .test_keep import as_browser, fresh_store, store_at  # noqa: F401 (fixture)


def class_drawings(mnist, count: int = 200):
    """Stand-ins for a class's drawings: MNIST test digits as uint8, from the far end of the set."""
    images = (np.asarray(mnist.x_test[-count:]) * 255).round().astype(np.uint8)
    return images, np.asarray(mnist.y_test[-count:], dtype=np.int64)


def numpy_dense(model, images: np.ndarray) -> np.ndarray:
    """The note's network (784 -> 512 relu -> 10 softmax) in plain NumPy: probabilities."""
    (w1, b1), (w2, b2) = [layer.get_weights() for layer in model.layers if layer.get_weights()]
    hidden = np.maximum(images.reshape(len(images), -1).astype(np.float64) / 255 @ w1 + b1, 0)
    logits = hidden @ w2 + b2
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def test_the_note_network_on_the_set_is_what_numpy_computes(mnist):
    model, _ = storage.load_model(storage.NOTE_NETWORK)
    images, labels = class_drawings(mnist)
    labels[:7] = (labels[:7] + 1) % 10                           # some mislabelled: misreads to find
    measure = classset.measure(Predictor(model), images, labels, "v1")
    reference = numpy_dense(model, images)
    said = reference.argmax(axis=1)
    assert np.array_equal(measure.predicted, said)
    assert measure.accuracy == pytest.approx(float((said == labels).mean()))
    for digit in range(10):
        mine = labels == digit
        assert measure.per_digit()[digit] == pytest.approx(float((said[mine] == digit).mean()))
    np.testing.assert_allclose(measure.confidence, reference.max(axis=1), atol=1e-4)
    wrong = np.flatnonzero(said != labels)
    expected = wrong[np.argsort(-reference.max(axis=1)[wrong])][:classset.CONFIDENT_MISREADS]
    assert set(measure.confident_misreads()) == set(expected)
    confidences = measure.confidence[measure.confident_misreads()]
    assert list(confidences) == sorted(confidences, reverse=True)


def test_the_best_reader_on_the_set_is_what_plain_keras_computes(mnist):
    model, metadata = storage.load_model(storage.BEST_READER)
    images, labels = class_drawings(mnist, 120)
    measure = classset.measure(Predictor(model, metadata.get("withhold_below")), images, labels, "v1")
    plain = model.predict(images.astype(np.float32)[..., None] / 255, verbose=0)
    assert np.array_equal(measure.predicted, plain.argmax(axis=1))
    assert measure.accuracy == pytest.approx(float((plain.argmax(axis=1) == labels).mean()))
    assert np.isnan(classset.Measure("v", np.array([1]), np.array([0.9]), np.array([1])).per_digit()[0])


def test_the_readings_csv_says_what_each_model_said_and_runs_no_formula():
    labels = np.array([3, 5])
    said = {"=HYPERLINK(\"x\")": classset.Measure("v", np.array([3, 6]), np.array([0.9, 0.75]), labels),
            "best": classset.Measure("v", np.array([3, 5]), np.array([0.99, 0.5]), labels)}
    rows = list(csv.reader(io.StringIO(classset.readings_csv([11, 12], labels, said))))
    assert rows[0] == ["id", "label", "'=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\") confidence", "best", "best confidence"]
    assert rows[1:] == [["11", "3", "3", "0.9000", "3", "0.9900"], ["12", "5", "6", "0.7500", "5", "0.5000"]]


def test_the_board_measures_both_bundled_models_on_the_class_set(fresh_store, mnist):  # noqa: F811
    """The class page, as the teacher sees it: each bundled model's accuracy on the class's drawings
    beside its MNIST test accuracy, computed off the page thread."""
    store = store_at(fresh_store)
    code, key = store.create_class(None, "3B")
    images, labels = class_drawings(mnist, 20)
    hand = Handwriting(store)
    learners = [store.learner(new_secret()) for _ in range(2)]
    for index, (image, label) in enumerate(zip(images, labels)):
        hand.add(learners[index // 10], code, int(label), image, strokes())
    expected = {}
    for name, path in (("the note's network", storage.NOTE_NETWORK), ("best CNN", storage.BEST_READER)):
        model, _ = storage.load_model(path)
        said = model.predict(images.reshape((-1,) + model.input_shape[1:]) / 255, verbose=0).argmax(axis=1)
        expected[name] = float((said == labels).mean())
    at = as_browser(new_secret(), "class_board", code=code)
    deadline = time.monotonic() + 120
    while not at.dataframe or len(at.dataframe[-1].value) < 2:
        assert time.monotonic() < deadline, "the measures did not arrive"
        time.sleep(1)
        at.run()
    table = at.dataframe[-1].value
    got = dict(zip(table.iloc[:, 0], table.iloc[:, 1]))
    assert len(got) == 2
    assert got == pytest.approx(expected)
    assert any("20 drawings by 2 learners" in m.value for m in at.markdown)
    assert not at.exception
    assert key not in str([m.value for m in at.markdown])


def test_a_run_with_the_class_set_trains_on_it_and_is_named_by_it(small_mnist, mnist):
    """Learning from it: the same spec plus one switch; the drawings join the training data (more
    steps per epoch), the spec's identity and the model's metadata name the set, not its pixels."""
    import dataclasses
    from mnist_core import training
    from mnist_core.runs.runspec import RunSpec
    images, labels = class_drawings(mnist, 300)
    chosen = classset.ClassDrawings.of(images, labels)
    assert chosen == classset.ClassDrawings.of(images.copy(), labels.copy())
    assert chosen != classset.ClassDrawings.of(images[:-1], labels[:-1])
    with pytest.raises(ValueError):
        classset.ClassDrawings.of(images, labels + 10)
    plain = RunSpec.preset("dense", epochs=1, batch_size=100, validation_split=0.0, seed=0)
    switched = dataclasses.replace(plain, class_set=chosen)
    assert switched != plain and switched.validated().class_set == chosen
    assert str(images.tobytes()[:20]) not in repr(switched)
    with pytest.raises(ValueError):
        dataclasses.replace(plain, class_set=(images, labels)).validated()
    steps = {}
    for name, spec in (("plain", plain), ("switched", switched)):
        reports = []
        run = training.run(spec, small_mnist, on_progress=reports.append)
        steps[name] = reports[-1].steps
        metadata = run.metadata
    assert steps == {"plain": 20, "switched": 23}             # 2,000 + 300 drawings, 100 a batch
    assert metadata["class_set"] == chosen.identity and metadata["class_drawings"] == 300
    json.dumps(metadata["class_set"])


def test_a_session_models_readings_are_its_own_even_at_a_reused_address():
    """Readings were kept under id(model): once a model is freed, another learner's model at the same
    address was shown its readings (a fresh-eye review). Each model gets a token of its own."""
    import gc

    from studio.store.measures import session_key

    class Model:          # stands in for a Keras model: any object that can be weakly referenced
        pass

    first = Model()
    key, address = session_key(first), id(first)
    assert session_key(first) == key                       # stable while the model lives
    del first
    gc.collect()
    seen = set()
    for _ in range(200):                                   # CPython soon reuses the freed address
        other = Model()
        seen.add(session_key(other))
        if id(other) == address:
            break
    assert key not in seen
