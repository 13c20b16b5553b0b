"""Step 4 of the tutorial: fit the network, reporting progress as it goes.

`train` is `model.fit` plus two things a live app needs: an `on_progress` hook, called at most every
`report_every` seconds during an epoch (throttled by time, not by batch, so a live chart costs the
training nothing) and at every epoch's end; and a `stop_event` that stops at the next batch, keeping
the weights and history of what finished.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass, field

import keras
import numpy as np

from .data import MnistData
from .preprocess import one_hot, to_model_input

REPORT_EVERY_S = 0.25   # at most ~4 chart updates a second


@dataclass(frozen=True)
class Progress:
    """One report from a running training. Epochs and steps count from 1."""
    kind: str                   # "batch" or "epoch"
    epoch: int
    epochs: int
    step: int
    steps: int
    loss: float                 # mean over the epoch so far (what Keras' progress bar shows)
    accuracy: float
    batch_loss: float           # the latest batch's own figures (NaN in epoch reports)
    batch_accuracy: float
    val_loss: float | None = None
    val_accuracy: float | None = None
    elapsed: float = 0.0

    @property
    def fraction_done(self) -> float:
        return ((self.epoch - 1) + self.step / max(self.steps, 1)) / max(self.epochs, 1)

    @property
    def eta_seconds(self) -> float | None:
        done = self.fraction_done
        return self.elapsed * (1 - done) / done if done > 0 else None


@dataclass
class TrainingResult:
    history: dict                  # per-epoch lists, as keras.callbacks.History.history
    epochs_completed: int          # whole epochs finished
    stopped: bool                  # the stop_event ended the run early
    seconds: float
    batches: list = field(default_factory=list)   # the batch-level reports, for the charts


_shared_inputs: dict = {}
_shared_lock = threading.Lock()


def model_input(images: np.ndarray, model: keras.Model) -> np.ndarray:
    """uint8 (n, 28, 28) images -> float32 shaped for `model` (784-vectors or 28x28x1).

    For the shared, read-only dataset arrays, trainings running at the same time share one
    read-only copy (188 MB saved per concurrent job); it is freed when the last of them ends.
    """
    shape = (len(images),) + tuple(model.input_shape[1:])
    key = (id(images), shape)
    with _shared_lock:
        cached = _shared_inputs.get(key)
        floats = cached[1]() if cached is not None and cached[0] is images else None
        if floats is not None:
            return floats
    floats = to_model_input(images).reshape(shape)
    if not images.flags.writeable:
        floats.setflags(write=False)
        with _shared_lock:
            for stale in [k for k, (_, ref) in _shared_inputs.items() if ref() is None]:
                del _shared_inputs[stale]
            _shared_inputs[key] = (images, weakref.ref(floats))
    return floats


class _ProgressCallback(keras.callbacks.Callback):
    def __init__(self, on_progress, stop_event, epochs, report_every, started):
        super().__init__()
        self.on_progress, self.stop_event = on_progress, stop_event
        self.epochs, self.report_every, self.started = epochs, report_every, started
        self.batches: list[Progress] = []
        self.stopped = False
        self.last_step = 0

    def on_train_begin(self, logs=None):
        self.steps = self.params.get("steps") or 1
        self._check_stop()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1
        self.last_report = float("-inf")
        self.previous = (0, 0.0, 0.0)   # samples seen, summed loss, summed accuracy

    def on_train_batch_end(self, batch, logs=None):
        self.last_step = batch + 1
        now = time.perf_counter()
        if now - self.last_report < self.report_every and batch + 1 < self.steps:
            self._check_stop()
            return
        self.last_report = now
        # Keras logs running epoch means; the newest batches' own figure follows from two means.
        step = batch + 1
        seen = min(step * self.batch_size, self.samples)
        loss, accuracy = float(logs["loss"]), float(logs["accuracy"])
        prev_seen, prev_loss, prev_acc = self.previous
        new = max(seen - prev_seen, 1)
        batch_loss = (loss * seen - prev_loss) / new
        batch_accuracy = (accuracy * seen - prev_acc) / new
        self.previous = (seen, loss * seen, accuracy * seen)
        report = Progress("batch", self.epoch, self.epochs, step, self.steps, loss, accuracy,
                          batch_loss, batch_accuracy, elapsed=now - self.started)
        self.batches.append(report)
        if self.on_progress:
            self.on_progress(report)
        self._check_stop()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        report = Progress("epoch", epoch + 1, self.epochs, self.steps, self.steps,
                          float(logs.get("loss", np.nan)), float(logs.get("accuracy", np.nan)),
                          float("nan"), float("nan"),
                          _maybe_float(logs.get("val_loss")), _maybe_float(logs.get("val_accuracy")),
                          elapsed=time.perf_counter() - self.started)
        if self.on_progress:
            self.on_progress(report)
        self._check_stop()

    def _check_stop(self):
        if self.stop_event is not None and self.stop_event.is_set():
            self.model.stop_training = True
            self.stopped = True


def _maybe_float(value):
    return None if value is None else float(value)


def train(model: keras.Model, data: MnistData, *, epochs: int, batch_size: int,
          validation_split: float = 0.0, on_progress=None, stop_event: threading.Event | None = None,
          seed: int | None = None, report_every: float = REPORT_EVERY_S) -> TrainingResult:
    """Fit `model` on MNIST's training set, as the tutorial does, with live progress."""
    if not isinstance(epochs, int) or not 1 <= epochs <= 1000:
        raise ValueError(f"epochs must be a whole number from 1 to 1000; got {epochs!r}")
    if not isinstance(batch_size, int) or not 1 <= batch_size <= 60000:
        raise ValueError(f"batch_size must be a whole number from 1 to 60000; got {batch_size!r}")
    if not 0.0 <= validation_split < 0.9:
        raise ValueError(f"validation_split must be at least 0 and below 0.9; got {validation_split!r}")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    images = model_input(data.x_train, model)
    labels = one_hot(data.y_train)
    recipe = getattr(model, "mnist_recipe", {})
    # Keras holds out the *last* fraction of the arrays for validation, as in the tutorial's book.
    samples = int(len(images) * (1 - validation_split)) if validation_split else len(images)
    steps_per_epoch = -(-samples // batch_size)
    if recipe.get("schedule") == "one_cycle":
        from .models import make_optimizer, one_cycle
        schedule = one_cycle(recipe["learning_rate"], steps_per_epoch * epochs)
        model.compile(optimizer=make_optimizer(recipe["optimizer"], schedule),
                      loss="categorical_crossentropy", metrics=["accuracy"])

    started = time.perf_counter()
    callback = _ProgressCallback(on_progress, stop_event, epochs, report_every, started)
    callback.samples, callback.batch_size = samples, batch_size
    if recipe.get("augment"):
        from .augment import augmented_batches
        validation = (images[samples:], labels[samples:]) if validation_split else None
        batches = augmented_batches(images[:samples], labels[:samples], batch_size,
                                    recipe["augment"], seed)
        history = model.fit(batches, epochs=epochs, validation_data=validation, shuffle=False,
                            callbacks=[callback], verbose=0)
    else:
        history = model.fit(images, labels, epochs=epochs, batch_size=batch_size,
                            validation_split=validation_split, callbacks=[callback], verbose=0)
    seconds = time.perf_counter() - started
    per_epoch = {name: [float(v) for v in values] for name, values in history.history.items()}
    if callback.stopped and callback.last_step < callback.steps:
        # Keras records the interrupted epoch too; only whole epochs belong in the history.
        per_epoch = {name: values[:-1] for name, values in per_epoch.items()}
    epochs_completed = len(per_epoch.get("loss", []))
    return TrainingResult(history=per_epoch,
                          epochs_completed=epochs_completed, stopped=callback.stopped,
                          seconds=seconds, batches=callback.batches)
