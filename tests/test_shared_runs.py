"""A whole class trains at once (#26): identical runs trained once, the worker process, the queue's
estimates."""

import os
import threading

import numpy as np
import pytest

from mnist_core.runs import jobs, sharing, worker
from mnist_core.runs.jobs import RunSpec, TrainingJob, TrainingQueue
from studio.train.runs import keras_log

from .test_cli_jobs import DEADLINE, SMALL, hold, until

LONG = RunSpec(arch="dense", hparams={"hidden_units": 16}, epochs=60, batch_size=20, seed=3)


class Learners:
    """Each learner's on_done, and a job factory that counts the trainings it makes."""

    def __init__(self, slots=2, job=TrainingJob):
        self.queue, self.job = TrainingQueue(slots=slots), job
        self.runs = sharing.SharedRuns()
        self.handed: dict = {}
        self.made: list = []

    def make_job(self, spec, data, **options):
        made = self.job(spec, data, queue=self.queue, **options)
        self.made.append(made)
        return made

    def start(self, spec, data, name):
        return self.runs.join(spec, data, self.make_job, name=name,
                              on_done=lambda outcome: self.handed.setdefault(name, outcome)).start()


def test_identity_is_everything_that_decides_the_result(small_mnist, mnist):
    checksum = sharing.data_checksum(small_mnist)
    same = RunSpec(hparams={"dropout": 0.0, "hidden_units": 16}, epochs=2, batch_size=100, seed=1)
    assert SMALL.identity(checksum) == same.identity(checksum)       # the order of a dict is not a setting
    others = [RunSpec(arch="dense", hparams={"hidden_units": 16}, epochs=2, batch_size=100, seed=2),
              RunSpec(arch="dense", hparams={"hidden_units": 17}, epochs=2, batch_size=100, seed=1),
              RunSpec(arch="dense", hparams={"hidden_units": 16}, epochs=3, batch_size=100, seed=1),
              RunSpec(arch="dense", hparams={"hidden_units": 16}, epochs=2, batch_size=64, seed=1),
              RunSpec(arch="dense", hparams={"hidden_units": 16}, epochs=2, batch_size=100, seed=1,
                      validation_split=0.1),
              RunSpec(arch="dense", hparams={"hidden_units": 16}, epochs=2, batch_size=100, seed=1, drawings=10)]
    identities = {spec.identity(checksum) for spec in others} | {SMALL.identity(checksum)}
    assert len(identities) == len(others) + 1
    assert SMALL.identity(sharing.data_checksum(mnist)) != SMALL.identity(checksum)      # other data
    assert SMALL.identity(checksum, {"class_drawings": "v1"}) != SMALL.identity(checksum)  # data mixed in


def test_two_learners_with_the_same_spec_train_once_and_each_get_a_run(small_mnist):
    class_ = Learners()
    first = class_.start(SMALL, small_mnist, "Run 1")
    second = class_.start(SMALL, small_mnist, "Run 7")
    assert first.learners == second.learners == 2
    assert first.join(DEADLINE) and second.join(DEADLINE)
    assert len(class_.made) == 1 and class_.runs.trainings == 1 and class_.runs.joins == 1
    assert first.state == second.state == jobs.FINISHED
    mine, yours = class_.handed["Run 1"], class_.handed["Run 7"]
    assert mine.metadata["name"] == "Run 1" and yours.metadata["name"] == "Run 7"     # a run each
    assert mine.model is yours.model                                                   # one model
    assert mine.metadata["test_accuracy"] == yours.metadata["test_accuracy"] > 0.5
    assert keras_log(first.snapshot()) == keras_log(second.snapshot())


def test_a_different_seed_is_a_different_run(small_mnist):
    class_ = Learners()
    runs = [class_.start(SMALL, small_mnist, "a"),
            class_.start(RunSpec(arch="dense", hparams={"hidden_units": 16}, epochs=2, batch_size=100, seed=2),
                         small_mnist, "b")]
    assert all(run.join(DEADLINE) for run in runs)
    assert len(class_.made) == 2 and class_.runs.joins == 0
    assert class_.handed["a"].model is not class_.handed["b"].model


def test_a_joined_run_shows_the_epochs_from_the_first(small_mnist):
    class_ = Learners()
    early = class_.start(LONG, small_mnist, "early")
    assert until(lambda: len(early.snapshot().epochs) >= 2)
    late = class_.start(LONG, small_mnist, "late")
    epochs = late.snapshot().epochs
    assert [e.epoch for e in epochs[:2]] == [1, 2] and late.snapshot().batches[0].epoch == 1
    assert keras_log(late.snapshot()).startswith("Epoch 1/60\n")
    early.stop()
    late.stop()
    assert early.join(DEADLINE) and late.join(DEADLINE)


def test_the_last_learner_to_stop_stops_the_training(small_mnist):
    class_ = Learners()
    a, b = class_.start(LONG, small_mnist, "a"), class_.start(LONG, small_mnist, "b")
    assert until(lambda: a.snapshot().batches)
    a.stop()                                             # a leaves: the run goes on for b
    assert a.state == jobs.STOPPED and b.state == jobs.RUNNING and b.learners == 1
    seen = len(b.snapshot().batches)
    assert until(lambda: len(b.snapshot().batches) > seen)
    assert not class_.made[0].stop_event.is_set()
    b.stop()                                             # the last one: the training stops
    assert b.join(DEADLINE) and b.state == jobs.STOPPED
    assert class_.made[0].stop_event.is_set()
    assert class_.handed["b"].metadata["stopped_early"] and "a" not in class_.handed   # b keeps the part
    assert not class_.runs._live                         # and a new start of it trains afresh


def test_a_run_whose_learners_all_left_their_tabs_stops(small_mnist):
    class_, alive = Learners(), threading.Event()
    alive.set()
    run = class_.runs.join(LONG, small_mnist, class_.make_job, name="gone", keep_running=alive.is_set).start()
    assert until(lambda: run.snapshot().batches)
    alive.clear()
    assert run.join(DEADLINE) and run.state == jobs.STOPPED


def test_a_recently_finished_identical_run_is_ready_at_once(small_mnist):
    class_ = Learners()
    assert class_.start(SMALL, small_mnist, "first").join(DEADLINE)
    again = class_.start(SMALL, small_mnist, "again")
    assert again.join(5) and again.replayed and again.state == jobs.FINISHED
    assert len(class_.made) == 1 and class_.runs.replays == 1
    assert class_.handed["again"].metadata["replayed"] and class_.handed["again"].metadata["name"] == "again"
    assert keras_log(again.snapshot()) == keras_log(class_.made[0].snapshot())    # the curves, replayed


def test_a_busy_line_refuses_with_an_estimate_and_a_waiting_run_gets_one(small_mnist):
    jobs.TIMINGS.record_epoch(SMALL, 2.0)
    queue, gate = TrainingQueue(slots=1, max_waiting=1), threading.Event()
    held = hold(queue, gate, small_mnist, 2)
    assert until(lambda: queue.counts() == (1, 1))
    waiting = held[1].snapshot()
    assert waiting.position == 1 and waiting.starts_in is not None and waiting.starts_in <= 2 * 2.0 + 60
    with pytest.raises(jobs.QueueFullError) as refused:
        TrainingJob(SMALL, small_mnist, queue=queue).start()
    assert refused.value.seconds is not None and refused.value.seconds <= waiting.starts_in
    gate.set()
    assert all(job.join(DEADLINE) for job in held)


# --- the worker process --------------------------------------------------------------------------------

def _rss_mib(pid) -> float:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))


def test_the_worker_trains_niced_in_its_own_process_and_returns_its_memory(small_mnist, monkeypatch):
    pool = worker.WorkerPool(max_runs=3, idle_seconds=1.0)
    monkeypatch.setattr(worker.ProcessTrainingJob, "pool", pool)
    # A server has TensorFlow loaded (it reads the models that come back): so has this process, first.
    assert worker.ProcessTrainingJob(SMALL, small_mnist, queue=TrainingQueue(slots=1)).start().join(DEADLINE)
    before = _rss_mib(os.getpid())
    job = worker.ProcessTrainingJob(LONG, small_mnist, queue=TrainingQueue(slots=1)).start()
    assert until(lambda: job.snapshot().batches)
    pid = job.worker_pid
    assert pid != os.getpid()
    assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + worker.NICE)
    worker_rss = _rss_mib(pid)
    job.stop()                                             # stop keeps the finished part, as a thread's run does
    assert job.join(DEADLINE) and job.state == jobs.STOPPED
    assert job.outcome.model is not None and job.outcome.metadata["stopped_early"]
    assert [w.pid for w in pool.idle()] == [pid]           # kept for the next run a moment
    assert until(lambda: not os.path.exists(f"/proc/{pid}"), 30)    # then ended: its memory is the OS's again
    # The training's memory was the worker's, not the server's.
    assert worker_rss > 200 and _rss_mib(os.getpid()) - before < worker_rss / 2


def test_a_worker_run_is_the_same_run_as_on_a_thread(small_mnist):
    here = TrainingJob(SMALL, small_mnist, queue=TrainingQueue(slots=1)).start()
    there = worker.ProcessTrainingJob(SMALL, small_mnist, queue=TrainingQueue(slots=1)).start()
    assert here.join(DEADLINE) and there.join(DEADLINE) and there.state == jobs.FINISHED
    for mine, theirs in zip(here.outcome.model.get_weights(), there.outcome.model.get_weights()):
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-5)
    assert [e.epoch for e in there.snapshot().epochs] == [1, 2]
    assert there.outcome.result.history["accuracy"] == pytest.approx(here.outcome.result.history["accuracy"])


def test_a_worker_that_dies_fails_the_run_with_a_code(small_mnist, monkeypatch):
    pool = worker.WorkerPool()
    monkeypatch.setattr(worker.ProcessTrainingJob, "pool", pool)
    job = worker.ProcessTrainingJob(LONG, small_mnist, queue=TrainingQueue(slots=1)).start()
    assert until(lambda: job.snapshot().batches)
    os.kill(job.worker_pid, 9)
    assert job.join(DEADLINE)
    assert job.snapshot().state == jobs.FAILED and job.snapshot().error == "worker_lost"
    assert not pool.idle()


def test_a_hung_worker_is_killed_and_frees_the_slot(small_mnist, monkeypatch):
    """A worker stuck (here: stopped by SIGSTOP) ignores the stop message; without a deadline the
    run held the server's training slot forever (a fresh-eye review)."""
    import signal
    pool, slots = worker.WorkerPool(), TrainingQueue(slots=1)
    monkeypatch.setattr(worker.ProcessTrainingJob, "pool", pool)
    monkeypatch.setattr(worker, "HUNG_SECONDS", 3)
    job = worker.ProcessTrainingJob(LONG, small_mnist, queue=slots).start()
    assert until(lambda: job.snapshot().batches)
    pid = job.worker_pid
    os.kill(pid, signal.SIGSTOP)
    job.stop()
    assert job.join(DEADLINE)
    assert job.snapshot().state == jobs.FAILED and job.snapshot().error == "worker_lost"
    assert until(lambda: not os.path.exists(f"/proc/{pid}") or "Z" in open(f"/proc/{pid}/stat").read().split()[2])
    again = jobs.TrainingJob(SMALL, small_mnist, queue=slots).start()    # the slot is free again
    assert again.join(DEADLINE) and again.snapshot().state == jobs.FINISHED


def test_learners_share_a_run_trained_in_the_worker(small_mnist):
    class_ = Learners(job=worker.ProcessTrainingJob)
    runs = [class_.start(SMALL, small_mnist, name) for name in ("x", "y", "z")]
    assert all(run.join(DEADLINE) for run in runs)
    assert len(class_.made) == 1 and {run.state for run in runs} == {jobs.FINISHED}
    assert len({id(outcome.model) for outcome in class_.handed.values()}) == 1
    assert sorted(outcome.metadata["name"] for outcome in class_.handed.values()) == ["x", "y", "z"]
