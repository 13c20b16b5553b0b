"""Training: the tutorial's result, live progress, stopping, repeatability."""

import threading

import numpy as np
import pytest

from mnist_core import models, training


def test_tutorial_reaches_its_accuracy(tutorial_model, mnist):
    """The tutorial's network, 5 epochs of batch 128 on all 60,000 digits: about 0.98 on the test set."""
    model, result = tutorial_model
    assert result.epochs_completed == 5 and not result.stopped
    assert len(result.history["loss"]) == 5
    assert result.history["loss"][-1] < result.history["loss"][0]
    _, accuracy = model.evaluate(training.model_input(mnist.x_test, model),
                                 np.eye(10)[mnist.y_test], verbose=0)
    assert accuracy >= 0.975


def test_progress_reports_batches_and_epochs(small_mnist):
    reports = []
    model = models.build_model("dense", hidden_units=32, seed=1)
    result = training.train(model, small_mnist, epochs=2, batch_size=100, validation_split=0.1,
                            on_progress=reports.append, report_every=0.0)
    epochs = [r for r in reports if r.kind == "epoch"]
    batches = [r for r in reports if r.kind == "batch"]
    steps = 18                                   # 1800 training digits / 100
    assert len(epochs) == 2 and len(batches) == 2 * steps
    assert [b.step for b in batches[:steps]] == list(range(1, steps + 1))
    assert all(e.val_accuracy is not None for e in epochs)
    # Batch figures are recovered exactly from Keras' running means: their mean is the epoch's.
    first_epoch = batches[:steps]
    assert np.mean([b.batch_loss for b in first_epoch]) == pytest.approx(first_epoch[-1].loss, rel=1e-3)
    assert epochs[-1].fraction_done == 1.0
    assert result.history["val_accuracy"] == [e.val_accuracy for e in epochs]


def test_progress_is_throttled_by_time(small_mnist):
    reports = []
    model = models.build_model("dense", hidden_units=32)
    training.train(model, small_mnist, epochs=1, batch_size=10, on_progress=reports.append,
                   report_every=3600.0)
    batches = [r for r in reports if r.kind == "batch"]
    # With an hour between reports: only the first and the epoch's last batch are reported.
    assert [b.step for b in batches] == [1, 200]


def test_stop_event_stops_mid_epoch_and_keeps_what_finished(small_mnist):
    stop = threading.Event()
    reports = []

    def on_progress(progress):
        reports.append(progress)
        if progress.kind == "batch" and progress.step >= 5:
            stop.set()

    model = models.build_model("dense", hidden_units=32, seed=2)
    before = [w.copy() for w in model.get_weights()]
    result = training.train(model, small_mnist, epochs=3, batch_size=50, on_progress=on_progress,
                            stop_event=stop, report_every=0.0)
    assert result.stopped and result.epochs_completed == 0
    assert max(r.step for r in reports if r.kind == "batch") == 5     # stopped at the next batch
    assert not np.array_equal(before[0], model.get_weights()[0])      # the finished batches count


def test_stop_after_an_epoch_keeps_that_epoch(small_mnist):
    stop = threading.Event()

    def on_progress(progress):
        if progress.kind == "epoch":
            stop.set()

    model = models.build_model("dense", hidden_units=16)
    result = training.train(model, small_mnist, epochs=5, batch_size=200, on_progress=on_progress,
                            stop_event=stop)
    assert result.stopped and result.epochs_completed == 1 and len(result.history["loss"]) == 1


def test_seed_makes_a_run_repeatable(small_mnist):
    def run():
        model = models.build_model("dense", hidden_units=32, dropout=0.2, seed=11)
        return training.train(model, small_mnist, epochs=2, batch_size=64, seed=11).history["loss"]
    first = run()
    assert run() == first          # exactly: every random choice is seeded by the run itself
    model = models.build_model("dense", hidden_units=32, dropout=0.2, seed=12)
    assert training.train(model, small_mnist, epochs=2, batch_size=64, seed=12).history["loss"] != first


@pytest.mark.parametrize("kwargs, message", [({"epochs": 0}, "epochs"), ({"batch_size": 0}, "batch size"),
                                             ({"validation_split": 0.95}, "validation split"),
                                             ({"epochs": 2.5}, "epochs")])
def test_bad_training_settings(small_mnist, kwargs, message):
    settings = {"epochs": 1, "batch_size": 32} | kwargs
    with pytest.raises(ValueError, match=message):
        training.train(models.build_model("dense", hidden_units=8), small_mnist, **settings)


def test_cnn_trains_on_images_shaped_for_it(small_mnist):
    model = models.build_model("cnn", filters=4)
    result = training.train(model, small_mnist, epochs=1, batch_size=100)
    assert result.epochs_completed == 1 and np.isfinite(result.history["loss"][0])
