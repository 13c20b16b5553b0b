"""`--only predict`: one drawing through the Predictor, beside Keras' `model.predict` and beside
the model called in a compiled tf.function (the fair baseline); the full test set's evaluation."""

from __future__ import annotations

import statistics
import time

from bench.sections import ROOT, data
from bench.table import collector


def predictor_speed(predictor, model, calls) -> tuple[float, float, float]:
    """Median seconds for one image: Predictor.predict_proba, model.predict, and the model called
    in a compiled tf.function (`model(x, training=False)`: the fair baseline, the same forward pass
    without Keras' batch machinery), interleaved."""
    import tensorflow as tf

    from mnist_core.preprocess import to_model_input
    from mnist_core.training import model_input
    image = to_model_input(data().x_test[1])
    batch = model_input(data().x_test[1:2], model)
    compiled = tf.function(lambda x: model(x, training=False))
    calls_of = (lambda: predictor.predict_proba(image), lambda: model.predict(batch, verbose=0),
                lambda: compiled(batch).numpy())
    for _ in range(20):
        for call in calls_of:
            call()
    times = [[], [], []]
    for _ in range(calls):       # interleaved, so all three see the same machine
        for call, bucket in zip(calls_of, times):
            started = time.perf_counter()
            call()
            bucket.append(time.perf_counter() - started)
    return tuple(statistics.median(bucket) for bucket in times)


def baselines(fast, slow, compiled) -> str:
    """The Predictor's two baselines, as a row's baseline column says them."""
    def than(seconds):
        ratio = max(seconds, fast) / min(seconds, fast)
        return f"**{ratio:.{0 if ratio >= 10 else 2}f}× {'faster' if seconds >= fast else 'slower'}**"
    return (f"model.predict: {slow * 1000:.1f} ms → {than(slow)}; "
            f"model(x, training=False) in a tf.function: {compiled * 1000:.2f} ms → {than(compiled)}")


def bench_predict(calls=200):
    row, rows = collector()
    print("prediction speed", flush=True)
    from mnist_core import evaluation, storage
    from mnist_core.predict import Predictor
    model, _ = storage.load_model(ROOT / "models" / "default.keras")
    predictor = Predictor(model)
    fast, slow, compiled = predictor_speed(predictor, model, calls)
    row(f"One drawing: Predictor.predict_proba vs model.predict (target ≥ 15×) and vs the compiled "
        f"call, median of {calls}", f"{fast * 1000:.2f} ms", baselines(fast, slow, compiled), slow / fast >= 15)
    started = time.perf_counter()
    report = evaluation.evaluate(model, data().x_test, data().y_test, predictor=predictor)
    row("Full test set evaluation (10,000 digits, default model)",
        f"{time.perf_counter() - started:.2f} s", f"accuracy {report.accuracy:.2%}", None)
    return rows
