"""Shared fixtures: MNIST read where it lies (MNIST_DATA or ../shared/mnist), never copied."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The run store (issue #20) of every app the tests start, AppTest or a server: a throw-away folder,
# never the user's own runs.
os.environ["MNIST_STUDIO_DATA_DIR"] = tempfile.mkdtemp(prefix="mnist-studio-test-")
os.environ.pop("DATABASE_URL", None)


def mnist_dir() -> Path:
    return Path(os.environ.get("MNIST_DATA") or ROOT.parent / "shared" / "mnist")


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    path = mnist_dir()
    if not (path / "t10k-labels-idx1-ubyte.gz").exists():
        if os.environ.get("CI"):
            pytest.fail(f"MNIST is not at {path}; CI must provide it (set MNIST_DATA)")
        pytest.skip(f"MNIST is not at {path}; set MNIST_DATA to run this test")
    return path


@pytest.fixture(scope="session")
def mnist(mnist_path):
    from mnist_core.data import load_mnist
    return load_mnist(mnist_path)


@pytest.fixture(scope="session")
def small_mnist(mnist):
    """2,000 training and 500 test digits: enough to train something in a second or two."""
    from mnist_core.data import MnistData
    return MnistData(mnist.x_train[:2000], mnist.y_train[:2000], mnist.x_test[:500],
                     mnist.y_test[:500], source="first 2000/500 digits of " + mnist.source)


@pytest.fixture(scope="session")
def tutorial_model(mnist):
    """The tutorial's network trained exactly as in the tutorial (5 epochs, batch 128), once."""
    from mnist_core import models, training
    model = models.build_model("dense", seed=0)
    result = training.train(model, mnist, epochs=5, batch_size=128, seed=0)
    return model, result


@pytest.fixture()
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def pg_cluster():
    """A throw-away PostgreSQL cluster on a free loopback port (tests/pgcluster.py), removed after."""
    from .pgcluster import Cluster, binaries
    if binaries() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed; .ci/run installs it (apt-get install postgresql)")
        pytest.skip("PostgreSQL's initdb/pg_ctl are not installed (apt-get install postgresql)")
    with Cluster() as cluster:
        yield cluster


@pytest.fixture(autouse=True)
def _no_process_wide_seed_left_behind():
    """A test that runs the note's own script (keras.utils.set_random_seed) or seeds TensorFlow leaves
    the process-wide seed set, as no server process has it: a run's tf.data shuffle combines with it,
    and later tests compare a run here with the same run in a fresh worker process."""
    yield
    import sys
    if "tensorflow" in sys.modules:
        import tensorflow as tf
        tf.random.set_seed(None)
    if "keras" in sys.modules:
        from keras.src.backend.common import global_state
        global_state.set_global_attribute("global_random_seed", None)
        global_state.set_global_attribute("global_seed_generator", None)
