"""Step 4 of the tutorial: fit the network, reporting progress as it goes.

`train` is `model.fit` plus what a live app needs: an `on_progress` hook, called at most every
`report_every` seconds during an epoch (throttled by time, not by batch, so a live chart costs the
training nothing) and at every epoch's end; a `stop_event` that stops at the next batch, keeping
the weights and history of what finished; and a seed that belongs to the run alone (shuffling and
augmentation are seeded per run, never through the process-wide random seed, so two runs on a
server's threads don't disturb each other). `run` is the whole step: build, train, evaluate.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass, field

import keras
import numpy as np

from .data import MnistData
from .preprocess import NOT_A_DIGIT, one_hot, to_model_input
from mnist_core.runs.runspec import RunSpec, check_run

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
    growth: tuple | None = None   # epoch reports: (first-layer filters, map points), see inspect.growth

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
    epoch_seconds: list = field(default_factory=list)   # training time at each whole epoch's end


def model_input(images: np.ndarray, model: keras.Model) -> np.ndarray:
    """uint8 (n, 28, 28) images -> float32 shaped for `model` (784-vectors or 28x28x1)."""
    return to_model_input(images).reshape((len(images),) + tuple(model.input_shape[1:]))


_tensors: dict = {}
_tensors_lock = threading.Lock()


def _shared_tensor(array: np.ndarray):
    """The array as a TensorFlow constant; one for all runs when the array is the shared,
    read-only dataset (47 MB copied once per server, not once per run)."""
    import tensorflow as tf
    if array.flags.writeable:
        return tf.constant(array)
    with _tensors_lock:
        hit = _tensors.get(id(array))
        if hit is None or hit[0]() is not array:
            hit = _tensors[id(array)] = (weakref.ref(array), tf.constant(array))
        return hit[1]


def batches(images: np.ndarray, labels: np.ndarray, batch_size: int, input_shape: tuple, *,
            seed: int | None = None, augment: float = 0.0, count: int | None = None):
    """A shuffled tf.data pipeline of (images / 255 shaped as `input_shape`, one-hot labels), over
    the first `count` images (all by default).

    It holds the uint8 images (47 MB for MNIST), not a float copy (188 MB), and converts each
    batch as it goes. With augmentation, each batch draws its own seed from the run's seed.
    """
    import tensorflow as tf
    count = len(images) if count is None else count
    # Shuffle indices and gather whole batches: per-image shuffling and batching in tf.data cost
    # a fifth more training time here than Keras' own array feed; gathering batches costs ~nothing.
    all_pixels, all_digits = _shared_tensor(images), _shared_tensor(np.asarray(labels))
    dataset = tf.data.Dataset.range(count).shuffle(count, seed=seed,
                                                         reshuffle_each_iteration=True).batch(batch_size)
    dataset = dataset.map(lambda index: (tf.gather(all_pixels, index), tf.gather(all_digits, index)))
    if augment:
        batch_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        dataset = tf.data.Dataset.zip((dataset, batch_seeds))

    def prepare(pixels, digits, batch_seed=None):
        pixels = tf.cast(pixels, tf.float32) / 255
        if augment:
            from mnist_core.drawings.augment import augment_batch
            pixels = augment_batch(pixels[..., None], augment, batch_seed)
        # preprocess.soft_targets in TensorFlow: a non-digit's row is 1/10 everywhere.
        targets = (tf.one_hot(digits, NOT_A_DIGIT)
                   + tf.cast(digits == NOT_A_DIGIT, tf.float32)[:, None] / NOT_A_DIGIT)
        return tf.reshape(pixels, (-1,) + tuple(input_shape)), targets

    if augment:
        return dataset.map(lambda batch, batch_seed: prepare(*batch, batch_seed),
                           num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    return dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


class _ProgressCallback(keras.callbacks.Callback):
    def __init__(self, on_progress, stop_event, epochs, report_every, started, watch=None):
        super().__init__()
        self.watch, self.growth = watch, None
        self.on_progress, self.stop_event = on_progress, stop_event
        self.epochs, self.report_every, self.started = epochs, report_every, started
        self.batches: list[Progress] = []
        self.epoch_seconds: list[float] = []
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
        if self.watch is not None:     # the filters and the map as they are after this epoch
            from .inspect import growth
            self.growth = growth(self.model, self.watch, None if self.growth is None else self.growth[1])
        report = Progress("epoch", epoch + 1, self.epochs, self.steps, self.steps,
                          float(logs.get("loss", np.nan)), float(logs.get("accuracy", np.nan)),
                          float("nan"), float("nan"),
                          _maybe_float(logs.get("val_loss")), _maybe_float(logs.get("val_accuracy")),
                          elapsed=time.perf_counter() - self.started, growth=self.growth)
        self.epoch_seconds.append(report.elapsed)
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
          validation_split: float = 0.0, recipe: dict | None = None, on_progress=None,
          stop_event: threading.Event | None = None, seed: int | None = None,
          extra: tuple[np.ndarray, np.ndarray] | None = None, watch: np.ndarray | None = None,
          report_every: float = REPORT_EVERY_S) -> TrainingResult:
    """Fit `model` on MNIST's training set, as the tutorial does, with live progress.

    `recipe` (from presets.recipe) adds a learning-rate schedule, label smoothing and augmentation; without it the
    model trains as it was compiled. `extra` (uint8 images, labels) joins the training set, never
    the validation part. `watch` (uint8 images, a few hundred) adds inspect.growth to each epoch's
    report: the first layer's filters and those images' map, as they form.
    """
    check_run(epochs, batch_size, validation_split)
    recipe = recipe or {}
    # Keras holds out the *last* fraction of the arrays for validation, as in the tutorial's book.
    total = len(data.x_train)
    samples = int(total * (1 - validation_split)) if validation_split else total
    train_images, train_labels = data.x_train, data.y_train
    if extra is not None:
        train_images = np.concatenate([data.x_train[:samples], extra[0]])
        train_labels = np.concatenate([data.y_train[:samples], extra[1]])
        samples += len(extra[0])
    steps_per_epoch = -(-samples // batch_size)
    if recipe:     # the schedule is sized to this run's steps
        from mnist_core.networks.optimizers import compile_model
        compile_model(model, recipe, steps_per_epoch * epochs)
    training_set = batches(train_images, train_labels, batch_size, tuple(model.input_shape[1:]),
                           seed=seed, augment=recipe.get("augment", 0.0), count=samples)
    held = total - int(total * (1 - validation_split)) if validation_split else 0
    validation = ((model_input(data.x_train[total - held:], model), one_hot(data.y_train[total - held:]))
                  if held else None)

    started = time.perf_counter()
    callback = _ProgressCallback(on_progress, stop_event, epochs, report_every, started,
                                 None if watch is None else to_model_input(watch))
    callback.samples, callback.batch_size = samples, batch_size
    history = model.fit(training_set, epochs=epochs, validation_data=validation, shuffle=False,
                        callbacks=[callback], verbose=0)
    seconds = time.perf_counter() - started
    per_epoch = {name: [float(v) for v in values] for name, values in history.history.items()}
    if callback.stopped and callback.last_step < callback.steps:
        # Keras records the interrupted epoch too; only whole epochs belong in the history.
        per_epoch = {name: values[:-1] for name, values in per_epoch.items()}
    epochs_completed = len(per_epoch.get("loss", []))
    return TrainingResult(history=per_epoch,
                          epochs_completed=epochs_completed, stopped=callback.stopped,
                          seconds=seconds, batches=callback.batches,
                          epoch_seconds=callback.epoch_seconds[:epochs_completed])


@dataclass
class TrainedRun:
    """A finished run: the model, how training went, its test report, and its file metadata."""
    model: keras.Model
    result: TrainingResult
    report: object            # evaluation.EvaluationReport on the test set
    metadata: dict


def run(spec: RunSpec, data: MnistData, *, on_progress=None, stop_event=None, watch=None,
        start_from=None, drawing_parts=("train",), **metadata) -> TrainedRun:
    """The tutorial's steps 3-5 for one RunSpec: build, train (with its recipe), evaluate.
    `start_from`: a saved model of the same architecture whose weights training starts from.
    `drawing_parts`: the protocol's parts whose real pen digits and letters the drawings come from
    (adding "choose" is for the bundled reader's last run, whose threshold was chosen before)."""
    from . import evaluation, models
    from mnist_core.networks import presets
    spec = spec.validated()
    model = models.build_model(spec.arch, seed=spec.seed, **spec.hparams)
    if start_from is not None:
        from . import storage
        earlier, earlier_metadata = storage.load_model(start_from)
        shapes = [w.shape for w in earlier.get_weights()]
        if shapes != [w.shape for w in model.get_weights()]:
            raise ValueError(f"{start_from} is not a {spec.arch} model with these hyperparameters")
        model.set_weights(earlier.get_weights())
        metadata["started_from"] = {"file": str(start_from), "source": earlier_metadata.get("source"),
                                    "epochs": earlier_metadata.get("epochs")}
    extra = None
    if spec.drawings:
        from mnist_core.drawings import strokes
        # MNIST digits are re-stroked from the training part only: never the validation part's
        kept = int(len(data.x_train) * (1 - spec.validation_split)) if spec.validation_split else len(data.x_train)
        extra = strokes.training_drawings(spec.drawings, spec.seed or 0, data.x_train[:kept], data.y_train[:kept],
                                          parts=tuple(drawing_parts))
        metadata["drawing_parts"], metadata["drawing_mix"] = list(drawing_parts), dict(strokes.MIX)
    if spec.class_set is not None:      # a class's own handwriting (issue #28), uint8 like MNIST
        own = (spec.class_set.images, spec.class_set.labels)
        extra = own if extra is None else (np.concatenate([extra[0], own[0]]), np.concatenate([extra[1], own[1]]))
    result = train(model, data, epochs=spec.epochs, batch_size=spec.batch_size,
                   validation_split=spec.validation_split, recipe=presets.recipe(spec.arch, spec.hparams),
                   on_progress=on_progress, stop_event=stop_event, seed=spec.seed, extra=extra,
                   watch=watch)
    report = evaluation.evaluate(model, data.x_test, data.y_test)
    if spec.drawings and "choose" not in drawing_parts:
        # When to withhold an answer is chosen on the choose-writers' real digits, never trained on.
        from mnist_core.drawings import pendigits
        from . import predict
        images, labels, _ = pendigits.prepared("choose")
        probabilities = predict.Predictor(model).predict_proba(images.astype(np.float32) / 255)
        metadata["withhold_below"] = predict.choose_threshold(probabilities, labels)
        metadata["choose_writers_accuracy"] = float((probabilities.argmax(axis=1) == labels).mean())
    return TrainedRun(model, result, report, spec.metadata(result, report, **metadata))
