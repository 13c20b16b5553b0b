"""TensorFlow imported once per process, by one thread (studio/server/warmup.py, issue #25).

With `import_keras` made a no-op, this test failed in two tries out of two (`_DeadlockError` in
tensorflow.python.trackable.data_structures, "Registering two gradient" after it), as plain threads
importing `tensorflow` beside `keras` did in three out of three.
Each check runs in a fresh interpreter: this test process has TensorFlow imported already."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from .conftest import ROOT

RACE = r"""
import json, threading
from studio.server import warmup
errors, done = [], []

def run(statement):
    try:
        warmup.import_keras()
        exec(statement, {"warmup": warmup})
        done.append(statement)
    except BaseException as exc:
        errors.append(f"{statement}: {type(exc).__name__}: {exc}")

statements = ["import tensorflow as tf; assert list(tf.data.Dataset.range(3).as_numpy_iterator()) == [0, 1, 2]",
              "import keras; assert keras.layers.Dense(2)(keras.ops.ones((1, 3))).shape == (1, 2)",
              "from mnist_core import models, predict; predict.Predictor",
              "from studio.session import bundled",
              "warmup._warm()"]
threads = [threading.Thread(target=run, args=(s,)) for s in statements]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(600)
print(json.dumps({"errors": errors, "done": len(done)}))
"""


def test_heavy_modules_imported_from_several_threads_at_once():
    result = subprocess.run([sys.executable, "-c", RACE], cwd=ROOT, capture_output=True, text=True,
                            timeout=900, env={**os.environ, "MNIST_DATA": "/nonexistent"})
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {"errors": [], "done": 5}, outcome
    # Without MNIST the warm-up stops (and says why) after the import; the other threads went on.
    assert "warm-up stopped" in result.stdout + result.stderr
