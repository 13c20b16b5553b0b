"""Finished runs reach the store through one writer (studio/store/saving.py, issue #25): a run's
on_done only queues it, so a slow or unreachable database never holds the training slot; a breaker
answers at once while the database is down; a learner who pressed Forget me while a run trained
is not brought back; a run the store could not give back is not kept."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from mnist_core.runstore import RunStore, StoreError, new_secret
from studio.store import identity, saving


class Studio:
    released = False

    def __init__(self):
        self.notices = []

    def notify(self, key, **values):
        self.notices.append((key, values))

    def model(self, key):
        return None


def outcome(hidden: int = 16) -> SimpleNamespace:
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(hidden, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    confusion = np.diag(np.full(10, 90)) + 1
    return SimpleNamespace(model=model, metadata={"arch": "dense", "history": {"loss": [0.5, float("nan")]}},
                           report=SimpleNamespace(confusion=confusion, accuracy=0.9, precision=np.ones(10),
                                                  recall=np.ones(10), f1=np.ones(10)))


def job(studio, secret, result=None, name="run 1") -> saving._Save:
    return saving._Save(studio, 1, "run-1", name, secret, "zh", result or outcome())


@pytest.fixture()
def store(tmp_path):
    opened = RunStore(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    yield opened
    opened.close()


def test_on_done_only_queues_so_a_slow_database_never_holds_the_training_slot(store, monkeypatch):
    gate = threading.Event()
    real_save = store.save_run

    def slow_save(*args):
        gate.wait(30)                  # a busy SQLite (30 s) or an unreachable PostgreSQL
        return real_save(*args)
    monkeypatch.setattr(store, "save_run", slow_save)
    writer = saving.Writer(get_store=lambda: store)
    monkeypatch.setattr(saving, "WRITER", writer)
    monkeypatch.setattr(saving, "secret", new_secret)
    monkeypatch.setattr(saving, "language", lambda: "en")
    studio, handed = Studio(), []
    done = saving.saving(studio, 1, "run-1", "run 1", handed.append)
    result = outcome()
    started = time.monotonic()
    done(result)                       # on the training side, before its slot is released
    assert time.monotonic() - started < 1.0 and handed == [result]
    assert studio.notices == []
    gate.set()
    writer.jobs.join()
    assert [key for key, _ in studio.notices] == ["store.saved"]
    assert store.counts()["runs"] == 1


def test_the_breaker_answers_at_once_while_the_database_is_down(store, monkeypatch):
    calls = []

    def down(*args):
        calls.append(args)
        raise StoreError("unavailable", detail="connection refused")
    monkeypatch.setattr(store, "save_run", down)
    now = [1000.0]
    writer = saving.Writer(get_store=lambda: store, clock=lambda: now[0])
    studio = Studio()
    writer.write(job(studio, new_secret()))
    writer.write(job(studio, new_secret(), name="run 2"))
    assert len(calls) == 1                             # the second did not wait for the database
    down_words = saving.catalogue("zh")["store.down.unreachable"]      # in the learner's language
    assert [key for key, _ in studio.notices] == ["store.not_saved"] * 2
    assert all(down_words in values["detail"] for _, values in studio.notices), studio.notices
    now[0] += saving.BREAKER_SECONDS + 1
    writer.write(job(studio, new_secret(), name="run 3"))
    assert len(calls) == 2                             # tried again once the breaker closed


def test_forget_me_while_a_run_trains_does_not_bring_the_learner_back(store, monkeypatch):
    secret = new_secret()
    learner = store.learner(secret)
    store.forget(learner)                              # Forget me, pressed while the run trained
    monkeypatch.setattr(identity, "_forgotten", __import__("collections").OrderedDict())
    identity._remember_forgotten(secret)
    studio = Studio()
    saving.Writer(get_store=lambda: store).write(job(studio, secret))
    assert store.learner(secret, create=False) is None
    assert store.counts()["runs"] == 0 and not any(key == "store.saved" for key, _ in studio.notices)


def test_a_run_the_store_could_not_read_back_is_not_kept_and_says_why(store):
    studio = Studio()
    saving.Writer(get_store=lambda: store).write(job(studio, new_secret(), outcome(hidden=3000)))
    assert store.counts()["runs"] == 0
    [(key, values)] = studio.notices
    assert key == "store.not_saved" and "2,000,000" in values["detail"] and "参数" in values["detail"]



def test_forget_me_is_remembered_only_as_long_as_a_run_could_still_finish(monkeypatch):
    """Each Forget me press added a digest that was never dropped: a script pressing it again and
    again grew the server (a fresh-eye review). Bounded in time and in count."""
    import collections
    monkeypatch.setattr(identity, "_forgotten", collections.OrderedDict())
    monkeypatch.setattr(identity, "FORGOTTEN_AT_MOST", 5)
    clock = [1000.0]
    monkeypatch.setattr(identity.time, "monotonic", lambda: clock[0])
    secrets = [new_secret() for _ in range(8)]
    for s in secrets:
        identity._remember_forgotten(s)
    assert len(identity._forgotten) == 5 and identity.was_forgotten(secrets[-1])
    assert not identity.was_forgotten(secrets[0])
    identity._remember_forgotten(secrets[0])
    clock[0] += identity.FORGOTTEN_SECONDS + 1
    identity._remember_forgotten(secrets[1])             # the old ones go as a new one comes
    assert identity.was_forgotten(secrets[1]) and not identity.was_forgotten(secrets[0])
