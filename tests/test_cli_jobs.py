"""The command line, and training jobs in the background."""

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from mnist_core.runs import jobs
from mnist_core import storage
from mnist_core.runs.jobs import RunSpec, TrainingJob, TrainingQueue

from .conftest import ROOT

DEADLINE = 180      # seconds: generous, for a machine busy with other work; passing tests never wait it out


def until(predicate, seconds: float = DEADLINE) -> bool:
    """Poll `predicate` until it holds (True) or the deadline passes (False)."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def run_cli(*args, env_data=None):
    env = dict(os.environ)
    if env_data:
        env["MNIST_DATA"] = str(env_data)
    return subprocess.run([sys.executable, "-m", "mnist_core", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_help_explains_every_option():
    text = run_cli("train", "--help").stdout
    for option in ("--arch", "--epochs", "--batch-size", "--validation-split", "--seed", "--hparam",
                   "--out", "--data"):
        assert option in text
    assert "--model" in run_cli("evaluate", "--help").stdout


def test_train_then_evaluate(tmp_path, mnist_path):
    out = tmp_path / "seed.keras"
    trained = run_cli("train", "--arch", "dense", "--epochs", "1", "--hparam", "hidden_units=64",
                      "--seed", "1", "--out", str(out), env_data=mnist_path)
    assert trained.returncode == 0, trained.stderr
    assert "epoch 1/1" in trained.stdout and "test accuracy" in trained.stdout
    metadata = storage.read_metadata(out)
    assert metadata["hparams"]["hidden_units"] == 64 and metadata["test_accuracy"] > 0.9
    assert "python -m mnist_core train" in metadata["source"]

    evaluated = run_cli("evaluate", "--model", str(out), env_data=mnist_path)
    assert evaluated.returncode == 0, evaluated.stderr
    assert f"test accuracy {metadata['test_accuracy']:.4f}" in evaluated.stdout
    assert "Confusion matrix" in evaluated.stdout and len(evaluated.stdout.splitlines()) > 20


def test_cli_errors_are_messages_not_tracebacks(tmp_path, mnist_path):
    bad = run_cli("train", "--hparam", "hidden_units=0", "--out", str(tmp_path / "x.keras"),
                  env_data=mnist_path)
    assert bad.returncode == 2 and "hidden_units must be between" in bad.stderr
    assert "Traceback" not in bad.stderr
    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"junk")
    bad_model = run_cli("evaluate", "--model", str(junk), env_data=mnist_path)
    assert bad_model.returncode == 2 and "not a .keras model file" in bad_model.stderr
    no_data = run_cli("evaluate", "--model", str(junk), "--data", str(tmp_path / "none"))
    assert no_data.returncode == 2 and "Traceback" not in no_data.stderr


# --- jobs ---------------------------------------------------------------------------------------

SMALL = RunSpec(arch="dense", hparams={"hidden_units": 16}, epochs=2, batch_size=100, seed=1)


def hold(queue, gate, data, count: int) -> list:
    """`count` jobs started on `queue` that keep their places until `gate` opens."""
    held = []
    for _ in range(count):
        job = TrainingJob(SMALL, data, queue=queue)
        job._train = lambda: gate.wait(DEADLINE)
        held.append(job.start())
    return held


def test_job_trains_on_its_own_thread(small_mnist):
    seen_threads = []
    job = TrainingJob(SMALL, small_mnist, queue=TrainingQueue(slots=1))
    original = job._record
    job._record = lambda p: (seen_threads.append(threading.current_thread().name), original(p))
    job.start()
    assert job.join(DEADLINE)
    snap = job.snapshot()
    assert snap.state == jobs.FINISHED and snap.error is None
    assert len(snap.epochs) == 2 and snap.batches and snap.latest.kind == "epoch"
    assert set(seen_threads) == {f"mnist-training-{job.id}"}
    assert job.outcome.model is not None and 0.5 < job.outcome.metadata["test_accuracy"] <= 1.0


def test_job_stop(small_mnist):
    job = TrainingJob(RunSpec(hparams={"hidden_units": 16}, epochs=50, batch_size=20), small_mnist,
                      queue=TrainingQueue(slots=1)).start()
    assert until(lambda: job.snapshot().batches)
    job.stop()
    assert job.join(DEADLINE)
    assert job.state == jobs.STOPPED and job.outcome.metadata["stopped_early"]
    assert job.outcome.model is not None


def test_queue_runs_jobs_in_turn_and_shows_position(small_mnist):
    queue = TrainingQueue(slots=1, max_waiting=3)
    gate = threading.Event()
    first = TrainingJob(SMALL, small_mnist, queue=queue)
    first._train = lambda: gate.wait(DEADLINE)     # hold the only slot
    first.start()
    second = TrainingJob(SMALL, small_mnist, queue=queue).start()
    assert until(lambda: queue.counts() == (1, 1))      # the first holds the slot, the second waits
    assert second.state == jobs.QUEUED and second.snapshot().position == 1
    gate.set()
    assert second.join(DEADLINE) and second.state == jobs.FINISHED


def test_full_queue_says_busy(small_mnist):
    queue = TrainingQueue(slots=1, max_waiting=1)
    gate = threading.Event()
    holders = []
    for _ in range(2):   # one trains, one waits
        job = TrainingJob(SMALL, small_mnist, queue=queue)
        job._train = lambda: gate.wait(DEADLINE)
        holders.append(job.start())
    with pytest.raises(jobs.QueueFullError, match="busy"):
        TrainingJob(SMALL, small_mnist, queue=queue).start()
    holders[1].stop()          # a job cancelled while waiting leaves the queue
    gate.set()
    assert all(job.join(DEADLINE) for job in holders)
    assert holders[1].state == jobs.STOPPED and queue.counts() == (0, 0)


def test_job_stops_when_its_session_is_gone(small_mnist):
    alive = threading.Event()
    alive.set()
    job = TrainingJob(RunSpec(hparams={"hidden_units": 16}, epochs=50, batch_size=20), small_mnist,
                      queue=TrainingQueue(), keep_running=alive.is_set).start()
    assert until(lambda: job.snapshot().batches)        # training, then its session goes
    alive.clear()
    assert job.join(DEADLINE) and job.state == jobs.STOPPED


def test_job_time_limit_counts_training_not_waiting(small_mnist):
    """A job that waits in the queue longer than its limit still trains for its limit."""
    queue, gate = TrainingQueue(slots=1), threading.Event()
    holder = TrainingJob(SMALL, small_mnist, queue=queue)
    holder._train = lambda: gate.wait(DEADLINE)
    holder.start()
    job = TrainingJob(RunSpec(hparams={"hidden_units": 16}, epochs=50, batch_size=20), small_mnist,
                      queue=queue, max_seconds=1.5).start()
    assert until(lambda: job.snapshot().waited >= 2.5)  # longer than the limit, in the queue
    assert job.state == jobs.QUEUED and job.snapshot().seconds == 0
    gate.set()
    assert job.join(DEADLINE) and job.state == jobs.STOPPED
    snap = job.snapshot()
    assert snap.waited >= 2.5 and snap.seconds >= 1.5
    assert snap.epochs or snap.batches                  # it did train, after the wait


def test_job_whose_tab_is_gone_leaves_the_queue(small_mnist):
    queue, gate, alive = TrainingQueue(slots=1), threading.Event(), threading.Event()
    alive.set()
    holder = TrainingJob(SMALL, small_mnist, queue=queue)
    holder._train = lambda: gate.wait(DEADLINE)
    holder.start()
    waiting = TrainingJob(SMALL, small_mnist, queue=queue, keep_running=alive.is_set).start()
    assert until(lambda: queue.counts() == (1, 1))
    alive.clear()                                       # the tab closed while it waited
    assert waiting.join(DEADLINE) and waiting.state == jobs.STOPPED
    assert queue.counts() == (1, 0) and waiting.outcome is None
    gate.set()
    assert holder.join(DEADLINE)


def test_same_seed_gives_the_same_run_with_two_at_once(small_mnist):
    """Seeds belong to the run: two seeded runs training at the same time (and a third, unseeded,
    beside them) each end with exactly the weights they get alone."""
    spec = RunSpec(hparams={"hidden_units": 32, "dropout": 0.3}, epochs=2, batch_size=64, seed=5)
    alone = TrainingJob(spec, small_mnist, queue=TrainingQueue(slots=1)).start()
    assert alone.join(DEADLINE)
    queue = TrainingQueue(slots=3)
    together = [TrainingJob(spec, small_mnist, queue=queue).start(),
                TrainingJob(RunSpec(hparams={"hidden_units": 32}, epochs=2, batch_size=64),
                            small_mnist, queue=queue).start(),
                TrainingJob(spec, small_mnist, queue=queue).start()]
    assert all(job.join(DEADLINE) for job in together)
    for job in (together[0], together[2]):
        for mine, reference in zip(job.outcome.model.get_weights(), alone.outcome.model.get_weights()):
            np.testing.assert_allclose(mine, reference, rtol=0, atol=1e-6)
        assert job.outcome.result.history == alone.outcome.result.history


def test_failure_is_reported_as_a_code_and_logged_not_raised(small_mnist, caplog):
    job = TrainingJob(SMALL, small_mnist, queue=TrainingQueue())
    job._train = lambda: 1 / 0
    job.start()
    assert job.join(DEADLINE)
    snap = job.snapshot()
    assert snap.state == jobs.FAILED and snap.error == "internal"       # a code for the page
    assert "ZeroDivisionError" in caplog.text                            # the detail, for the log


def test_every_run_in_flight_counts_against_the_limit(small_mnist):
    """As on Ray (mnist_core.runs.cluster.RAY_QUEUE): no local waiting, at most `slots` runs sent."""
    queue, gate = TrainingQueue(slots=2, max_waiting=0), threading.Event()
    held = hold(queue, gate, small_mnist, 2)
    with pytest.raises(jobs.QueueFullError):
        TrainingJob(SMALL, small_mnist, queue=queue).start()
    gate.set()
    assert all(job.join(DEADLINE) for job in held) and queue.counts() == (0, 0)
    again = TrainingJob(SMALL, small_mnist, queue=queue)
    again._train = lambda: None
    assert again.start().join(DEADLINE)                     # and the places are free again


@pytest.mark.parametrize("spec", [RunSpec(epochs=0), RunSpec(batch_size=1), RunSpec(validation_split=0.8),
                                  RunSpec(hparams={"hidden_units": -3}), RunSpec(arch="nope")])
def test_bad_specs_are_refused_before_a_thread_starts(spec, small_mnist):
    with pytest.raises(ValueError):
        TrainingJob(spec, small_mnist)
