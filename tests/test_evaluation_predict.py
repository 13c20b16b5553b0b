"""Evaluation and prediction, compared with model.evaluate / model.predict and plain NumPy."""

import numpy as np
import pytest

from mnist_core import models
from mnist_core.evaluation import confusion_matrix, evaluate
from mnist_core.predict import Predictor, top_k
from mnist_core.preprocess import one_hot, to_model_input
from mnist_core.training import model_input


def test_evaluate_agrees_with_keras_and_numpy(tutorial_model, mnist):
    model, _ = tutorial_model
    report = evaluate(model, mnist.x_test, mnist.y_test)
    keras_loss, keras_accuracy = model.evaluate(model_input(mnist.x_test, model), one_hot(mnist.y_test),
                                                verbose=0)
    assert report.loss == pytest.approx(keras_loss, abs=1e-4)
    assert report.accuracy == pytest.approx(keras_accuracy, abs=1e-6)

    predictions = model.predict(model_input(mnist.x_test, model), verbose=0).argmax(axis=1)
    expected = np.zeros((10, 10), int)
    for truth, guess in zip(mnist.y_test, predictions):
        expected[truth, guess] += 1
    np.testing.assert_array_equal(report.confusion, expected)
    assert report.confusion.sum() == 10000 and report.confusion[0].sum() == 980

    for digit in range(10):
        tp = expected[digit, digit]
        assert report.precision[digit] == pytest.approx(tp / expected[:, digit].sum())
        assert report.recall[digit] == pytest.approx(tp / expected[digit].sum())
        p, r = report.precision[digit], report.recall[digit]
        assert report.f1[digit] == pytest.approx(2 * p * r / (p + r))


def test_mistakes_are_wrong_and_most_confident_first(tutorial_model, mnist):
    model, _ = tutorial_model
    report = evaluate(model, mnist.x_test, mnist.y_test)
    assert len(report.mistakes) == round((1 - report.accuracy) * 10000)
    assert np.all(report.predictions[report.mistakes] != mnist.y_test[report.mistakes])
    confidence = report.probabilities[report.mistakes, report.predictions[report.mistakes]]
    assert np.all(np.diff(confidence) <= 0)
    cell = report.cell(4, 9, mnist.y_test)
    assert len(cell) == report.confusion[4, 9]


def test_tutorial_last_step_reads_test_image_1_as_a_2(tutorial_model, mnist):
    model, _ = tutorial_model
    probabilities = Predictor(model).predict_proba(to_model_input(mnist.x_test[1]))[0]
    assert probabilities.argmax() == 2 == mnist.y_test[1]
    assert top_k(probabilities)[0][0] == 2


def note_loop(row):
    """The study note's reading: `for i in range(10): if res[i] == 1: print(i)`."""
    return [i for i in range(10) if row[i] == 1]


def test_comparing_with_1_finds_the_digit_only_where_float32_rounds_to_1(tutorial_model, mnist):
    """What is true about the note's `== 1`: it names a digit exactly for the rows whose top
    probability rounded to 1.0 in float32, and nothing for every other row; argmax always answers.
    How many rows round to 1.0 depends on the model (1,595 of 10,000 for the bundled default)."""
    model, _ = tutorial_model
    probabilities = Predictor(model).predict_proba(to_model_input(mnist.x_test))
    found = [note_loop(row) for row in probabilities]
    rounded_to_one = probabilities.max(axis=1) == np.float32(1.0)
    assert 0 < rounded_to_one.sum() < len(probabilities)        # both kinds occur
    for row, named, exact in zip(probabilities, found, rounded_to_one):
        assert named == ([int(row.argmax())] if exact else [])
    argmax_right = (probabilities.argmax(axis=1) == mnist.y_test).mean()
    loop_right = np.mean([named == [label] for named, label in zip(found, mnist.y_test)])
    assert argmax_right > 0.97 and loop_right < argmax_right - 0.1


@pytest.mark.parametrize("arch", ["dense", "cnn"])
def test_predictor_agrees_with_model_predict(arch, mnist):
    model = models.build_model(arch, seed=5)
    images = to_model_input(mnist.x_test[:300])
    expected = model.predict(model_input(mnist.x_test[:300], model), verbose=0)
    predictor = Predictor(model)
    np.testing.assert_allclose(predictor.predict_proba(images), expected, atol=1e-5)
    np.testing.assert_allclose(predictor.predict_proba(images[7]), expected[7:8], atol=1e-5)


def test_predictor_handles_large_batches_in_chunks(mnist):
    model = models.build_model("dense", hidden_units=16, seed=1)
    images = to_model_input(mnist.x_test[:5000])
    expected = model.predict(model_input(mnist.x_test[:5000], model), verbose=0, batch_size=1000)
    np.testing.assert_allclose(Predictor(model).predict_proba(images), expected, atol=1e-5)


@pytest.mark.parametrize("bad", [np.zeros((3, 784)), np.zeros((2, 28, 28, 3)), np.full((28, 28), np.nan)])
def test_predictor_refuses_bad_shapes(bad):
    with pytest.raises(ValueError):
        Predictor(models.build_model("dense", hidden_units=8)).predict_proba(bad)


def test_confusion_matrix_small_case():
    np.testing.assert_array_equal(confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), 2),
                                  [[1, 0], [1, 1]])


def test_evaluate_refuses_mismatched_inputs(mnist):
    with pytest.raises(ValueError):
        evaluate(models.build_model("dense", hidden_units=8), mnist.x_test[:5], mnist.y_test[:4])
