"""What a session holds: a few models, handed over by its runs, given back when it ends."""

import gc
import threading
import weakref

from mnist_core.runs.sharing import SERVER_RUNS

import pytest

from studio.session import lifecycle
from studio.session.bundled import DEFAULT_KEY
from studio.session.models import MAX_MODELS, SessionModel, Studio

from .test_app import open_page, start_tiny_run, wait_for


@pytest.fixture(autouse=True)
def _data_env(mnist_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(mnist_path))


class FakeOutcome:
    def __init__(self, metadata):
        self.metadata, self.model, self.report = metadata, object(), None


def entry(number):
    return SessionModel(f"upload-{number}", f"upload {number}", "upload", {}, model=object())


def test_a_session_keeps_a_handful_of_models_and_says_which_it_dropped():
    studio = Studio()
    for number in range(1, MAX_MODELS + 1):
        studio.add(entry(number))
    studio.active_key = "upload-1"                    # the oldest is the active one: it stays
    dropped = studio.models["upload-2"]
    studio.add(entry(9), activate=False)
    assert len(studio.models) == MAX_MODELS and "upload-1" in studio.models
    assert "upload-2" not in studio.models and dropped.model is None     # released, not just unlisted
    notices = studio.take_notices()
    assert notices == [("notice.dropped", {"name": "upload 2", "limit": MAX_MODELS})]
    assert studio.take_notices() == []                # each notice is shown once


def test_runs_restored_from_the_store_are_continued_not_renumbered():
    studio = Studio()
    assert [studio.next_number(), studio.next_number()] == [1, 2]
    studio.continue_numbers_after(7)                  # the store gave back runs up to run 7
    assert studio.next_number() == 8
    studio.continue_numbers_after(3)                  # an older run restored later: no number reused
    assert studio.next_number() == 9


def test_a_finished_run_hands_its_model_over_and_becomes_active():
    studio = Studio()
    hand_over = studio.run_finished("run-1", "run 1 · dense")
    hand_over(FakeOutcome({"test_accuracy": 0.97}))
    studio.settle()                                   # the page's next run applies it
    assert studio.active_key == "run-1" and studio.active().test_accuracy == 0.97
    assert ("notice.run_active", {"name": "run 1 · dense"}) in studio.take_notices()


def test_release_gives_everything_back_and_stops_jobs():
    studio = Studio()
    model = entry(1)
    studio.add(model)
    stopped = threading.Event()
    studio.add_job("run-2", type("Job", (), {"stop": stopped.set, "done": False})())
    studio.release()
    assert studio.released and studio.models == {} and studio.jobs == {} and stopped.is_set()
    assert model.model is None and studio.active_key == DEFAULT_KEY
    studio.run_finished("run-2", "late")(FakeOutcome({}))   # a run that ends after the session
    studio.settle()
    assert studio.models == {}


def test_absent_sessions_are_released_after_the_grace_period(monkeypatch):
    watched = {"here": Studio(), "gone": Studio()}
    monkeypatch.setattr(lifecycle, "_watched", dict(watched))
    absent = {}
    active = {"here"}
    assert lifecycle.release_absent_sessions(active.__contains__, absent, now=100.0) == 0
    assert lifecycle.release_absent_sessions(active.__contains__, absent,
                                         now=100.0 + lifecycle.RELEASE_AFTER_SECONDS - 1) == 0
    assert not watched["gone"].released                # a reconnect within the grace keeps all
    assert lifecycle.release_absent_sessions(active.__contains__, absent,
                                         now=100.0 + lifecycle.RELEASE_AFTER_SECONDS) == 1
    assert watched["gone"].released and not watched["here"].released
    assert set(lifecycle._watched) == {"here"}


def test_a_released_session_starts_afresh_and_is_told_why():
    at = open_page("train")
    old = at.session_state["studio"]
    old.add(entry(1))
    old.release()                                     # as the janitor does while the tab is away
    at.run()
    assert at.session_state["studio"] is not old and not at.exception
    told = [toast.value for toast in at.toast]
    assert any("released" in text and "1 trained model" in text for text in told), told
    at.run()
    assert not [toast.value for toast in at.toast if "released" in toast.value]    # told once


def test_a_trained_model_is_freed_once_its_session_is_released():
    """No hidden reference keeps a run's model (and its TensorFlow functions) alive."""
    at = open_page("train")
    start_tiny_run(at)
    studio = at.session_state["studio"]
    assert wait_for(at, lambda a: "run-1" in studio.models)
    at.query_params["index"] = "0"                     # Predict reads test image 0 with it:
    at.switch_page("app_pages/predict.py").run()       # a Predictor (tf.function) for it, too
    at.switch_page("app_pages/evaluate.py").run()
    model_ref = weakref.ref(studio.models["run-1"].model)
    assert studio.models["run-1"].predictor is not None
    studio.release()
    del at
    SERVER_RUNS.clear()     # the server keeps a few finished runs to hand out again (bounded: sharing.py)
    gc.collect()
    assert model_ref() is None


def test_a_model_looked_inside_is_freed_once_its_session_is_released():
    """Every Inside view compiles probes for the model (and Break it a copy with its own): none of
    them may keep the model alive after the session lets go of it."""
    from studio.predict.inside import VIEWS
    at = open_page("train")
    start_tiny_run(at)
    studio = at.session_state["studio"]
    assert wait_for(at, lambda a: "run-1" in studio.models)
    at.query_params["index"] = "0"
    at.switch_page("app_pages/predict.py").run()
    for view in VIEWS:
        at.session_state["inside_view"] = view
        at.run()
        assert not at.exception and not at.error, view
    at.slider(key="break_off").set_value(50).run()
    assert any(m.label == "Broken copy says" for m in at.metric)
    model_ref = weakref.ref(studio.models["run-1"].model)
    broken_ref = weakref.ref(studio.broken[1])
    assert studio.models["run-1"].inside is not None          # the neighbour index was built
    studio.release()
    del at
    SERVER_RUNS.clear()     # the server keeps a few finished runs to hand out again (bounded: sharing.py)
    gc.collect()
    assert model_ref() is None and broken_ref() is None
