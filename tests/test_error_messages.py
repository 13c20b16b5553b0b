"""Every error state a learner can meet on Train and Predict, rendered in 简体中文 (#18.4): the page
shows a translated message made of a code and its values; no English sentence, and never the text
of the exception behind it (a remote traceback, a library's English)."""

import re
import threading

import numpy as np
import pytest

from mnist_core.runs import jobs, runspec
from mnist_core.runs.lessons import LessonQueue

from .test_app import _png, open_page, wait_for
from .test_i18n import CATALOGUES, english_sentences

ZH = CATALOGUES["zh"]
RAW = "Traceback (most recent call last): the remote worker said this in English"
ENGLISH_WORDS = re.compile(r"[A-Za-z]{2,}(?:[\s,;:'-]+[A-Za-z]{2,}){2,}")    # three words in a row


@pytest.fixture(autouse=True)
def _data_env(mnist_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(mnist_path))


def shown(at) -> list[str]:
    return [e.value for e in [*at.error, *at.warning, *at.info, *at.toast]]


def assert_only_chinese(at, expected_key: str, **values):
    texts = shown(at)
    assert not at.exception, [e.value for e in at.exception]
    assert ZH[expected_key].split("{")[0] in "\n".join(texts), (expected_key, texts)
    assert RAW not in "\n".join(texts)
    assert not [t for t in texts if ENGLISH_WORDS.search(t)], texts
    assert not english_sentences(texts)


def start_run(at):
    at.slider(key="train_epochs").set_value(1).run()
    at.number_input(key="train_dense_hidden_units").set_value(16).run()
    next(b for b in at.button if b.label == ZH["train.start"]).click().run()


@pytest.mark.parametrize("code", jobs.RunFailed.CODES)
def test_a_failed_run_reads_in_chinese(code, monkeypatch):
    from mnist_core import training

    def fails(*args, **kwargs):
        if code == "internal":
            raise RuntimeError(RAW)
        if code == "memory":
            raise MemoryError(RAW)
        raise jobs.RunFailed(code) from RuntimeError(RAW)
    monkeypatch.setattr(training, "run", fails)
    monkeypatch.setenv("MNIST_STUDIO_WORKERS", "0")     # trained here, where the failure is patched in
    at = open_page("train", lang="zh")
    start_run(at)
    studio = at.session_state["studio"]
    assert wait_for(at, lambda a: "run-1" in studio.jobs and studio.jobs["run-1"].done)
    assert studio.jobs["run-1"].snapshot().error == code
    assert_only_chinese(at, f"train.failed.{code}")


@pytest.mark.parametrize("code", [*runspec.SETTINGS, "hparams"])
def test_settings_that_cannot_be_trained_read_in_chinese(code, monkeypatch):
    def refuses(self):
        if code == "hparams":
            raise ValueError(RAW)
        raise runspec.SettingsError(code, (1, 2), 999)
    monkeypatch.setattr(runspec.RunSpec, "validated", refuses)
    at = open_page("train", lang="zh")
    start_run(at)
    assert_only_chinese(at, f"train.bad_settings.{code}")
    assert not at.session_state["studio"].jobs


def test_an_unreadable_picture_reads_in_chinese(monkeypatch, mnist):
    from mnist_core import preprocess

    def unreadable(*args, **kwargs):
        raise ValueError(RAW)
    monkeypatch.setattr(preprocess, "canvas_to_mnist_steps", unreadable)
    at = open_page("predict", source="upload", lang="zh")
    at.file_uploader(key="predict_upload_0").upload("seven.png", _png(255 - mnist.x_test[0]), "image/png").run()
    assert_only_chinese(at, "predict.unreadable")


def teach(at, mnist):
    photo = 255 - np.kron(mnist.x_test[0], np.ones((10, 10), np.uint8))
    at.file_uploader(key="predict_upload_0").upload("seven.png", _png(photo), "image/png").run()
    at.session_state["teach_label"] = 1
    at.run()
    next(b for b in at.button if b.label == ZH["teach.learn"]).click().run()


@pytest.mark.parametrize("problem", ["failed", "busy", "timed_out"])
def test_a_lesson_not_given_reads_in_chinese(problem, monkeypatch, mnist):
    import studio.predict.teach
    gate = threading.Event()
    if problem == "failed":
        def broken(*args):
            raise RuntimeError(RAW)
        monkeypatch.setattr(studio.predict.teach, "_learn", broken)
    elif problem == "busy":
        monkeypatch.setattr(studio.predict.teach, "LESSONS", LessonQueue(max_waiting=0))
    else:
        queue, started = LessonQueue(), threading.Event()
        queue.submit(lambda keep_going: started.set() or gate.wait(120) or "held")   # the worker is busy
        assert started.wait(60)
        monkeypatch.setattr(studio.predict.teach, "LESSONS", queue)
        monkeypatch.setattr(studio.predict.teach, "WAIT_SECONDS", 0.5)
    try:
        at = open_page("predict", source="upload", model="best", lang="zh")
        teach(at, mnist)
        assert_only_chinese(at, f"teach.{problem}")
        assert len(at.session_state["studio"].corrections) == 1        # the correction is kept
    finally:
        gate.set()
