"""Teach the model: the learner says what a misread drawing shows, and a copy of the model learns it.

The corrections and the taught copy belong to the session (released with it). Fine-tuning runs on
the server's one lesson worker (mnist_core.runs.lessons), never on the script thread; the page waits
for it showing its place in line (a lesson takes about a second or two on 2 cores).
"""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

from mnist_core.runs.lessons import DONE, FAILED, LessonQueue, LessonsFull

from studio.session.dataset import get_data
from studio.session.models import SessionModel, Studio, evaluation_report, loaded, session_studio
from studio.ui.i18n import ordinal, t

LESSONS = LessonQueue()
WAIT_SECONDS = 60       # a lesson not given within this (waiting included) is given up
TAUGHT_KEY = "taught"   # one taught model per session, replaced by each new lesson


def _learn(base_model, images, labels, data, base_predictor, keep_going):
    """Worker-thread side: fine-tune a copy (replaying MNIST and real pen digits), evaluate it on the
    test set, and read the held-out writers' pen digits before and after (None if stopped)."""
    from mnist_core.runs import corrections
    from mnist_core import evaluation
    from mnist_core.predict import Predictor
    tuned = corrections.fine_tune(base_model, images, labels, data.x_train, data.y_train,
                                  pen=corrections.pen_replay(), keep_going=keep_going)
    if tuned is None:
        return None
    predictor = Predictor(tuned, base_predictor.withhold_below)
    writers = (corrections.held_out_accuracy(base_predictor), corrections.held_out_accuracy(predictor))
    return tuned, predictor, evaluation.evaluate(tuned, data.x_test, data.y_test, predictor=predictor), writers


def wait_for(lesson, show, seconds: float | None = None) -> str:
    """Wait for `lesson`, telling `show(place)` its place in line (None once it is being given):
    its final state, or "timed_out" (then it is cancelled). A page that stops waiting for any
    reason (a click, a closed tab) cancels it too."""
    deadline = time.monotonic() + (WAIT_SECONDS if seconds is None else seconds)
    try:
        while not lesson.finished.wait(0.25):
            if time.monotonic() >= deadline:
                return "timed_out"
            show(LESSONS.position(lesson))
        return lesson.state
    finally:
        if not lesson.finished.is_set():
            lesson.cancel()


def teach_ui(entry: SessionModel, model_image: np.ndarray, reading) -> None:
    """'Wrong? Teach it': pick the right answer, learn it, show MNIST accuracy before and after."""
    from mnist_core.runs.corrections import MAX_CORRECTIONS, to_npz
    from mnist_core.drawings.pendigits import HELD_OUT_WRITERS
    from mnist_core.preprocess import NOT_A_DIGIT
    studio = session_studio()
    with st.expander(t("teach.title"), icon=":material/school:",
                     expanded=bool(studio.lesson) or not reading.sure):
        st.caption(t("teach.caption"))
        choice = st.pills(t("teach.label"), list(range(10)) + [NOT_A_DIGIT],
                          format_func=lambda v: str(v) if v != NOT_A_DIGIT else t("teach.not_a_digit"),
                          key="teach_label")
        if st.button(t("teach.learn"), icon=":material/model_training:", disabled=choice is None,
                     type="primary"):
            data = get_data()
            outcome = "no_data" if data is None else _teach(studio, entry, model_image, int(choice), data)
            if outcome == DONE:
                st.rerun()          # the taught copy answers now, on every page
            elif outcome == "busy":
                st.warning(t("teach.busy", waiting=LESSONS.max_waiting))
            elif outcome == "timed_out":
                st.warning(t("teach.timed_out", seconds=WAIT_SECONDS))
            elif outcome == FAILED:
                st.error(t("teach.failed"))
            elif outcome == "no_data":
                st.error(t("teach.no_data"))
        if studio.lesson:
            lesson = studio.lesson
            st.success(t("teach.result", n=lesson["count"], base=lesson["base_name"],
                         before=f"{lesson['before']:.2%}", after=f"{lesson['after']:.2%}",
                         seconds=f"{lesson['seconds']:.1f}") + " " +
                       t("pen.teach_writers", n=len(HELD_OUT_WRITERS), before=f"{lesson['writers'][0]:.1%}",
                         after=f"{lesson['writers'][1]:.1%}"))
        if studio.corrections:
            images, labels = zip(*studio.corrections)
            st.download_button(t("teach.download", n=len(labels)), to_npz(np.stack(images), np.array(labels)),
                               file_name="mnist-studio-corrections.npz", mime="application/octet-stream",
                               icon=":material/download:")
            st.caption(t("teach.download.help", limit=MAX_CORRECTIONS))


def _teach(studio: Studio, entry: SessionModel, model_image, label: int, data) -> str:
    """Add the correction and learn all of them: DONE, or why not ("busy", "timed_out", FAILED,
    or DROPPED when the session was released meanwhile); the correction is kept either way."""
    from mnist_core.runs.corrections import MAX_CORRECTIONS
    # Every lesson starts from the model first corrected (not from the last lesson), so it never drifts.
    base = studio.lesson_base
    if entry.key != TAUGHT_KEY or base is None or (base.kind != "bundled" and base.model is None):
        studio.lesson_base = entry
    base = studio.lesson_base
    base_model, base_predictor = loaded(base)
    studio.corrections = (studio.corrections + [(np.asarray(model_image, np.float32), label)])[-MAX_CORRECTIONS:]
    images = np.stack([image for image, _ in studio.corrections])
    labels = np.array([digit for _, digit in studio.corrections])
    started = time.perf_counter()
    before = evaluation_report(base, data).accuracy
    try:
        lesson = LESSONS.submit(
            lambda keep_going: _learn(base_model, images, labels, data, base_predictor, keep_going),
            wanted=lambda: not studio.released)
    except LessonsFull:
        return "busy"
    status = st.empty()

    def show(place):
        status.info(t("teach.waiting", place=ordinal(place)) if place else t("teach.learning", n=len(labels)),
                    icon=":material/hourglass:")
    outcome = wait_for(lesson, show)
    status.empty()
    if outcome != DONE:
        return outcome
    tuned, predictor, after, writers = lesson.result
    name = t("teach.model_name", base=base.name, n=len(labels))
    metadata = {**base.metadata, "name": name, "corrections": len(labels), "tuned_from": base.key,
                "test_accuracy": after.accuracy, "test_accuracy_before": before}
    studio.add(SessionModel(TAUGHT_KEY, name, "tuned", metadata, model=tuned,
                                  predictor=predictor, report=after))
    studio.lesson = {"count": len(labels), "base_name": base.name, "before": before,
                     "after": after.accuracy, "seconds": time.perf_counter() - started,
                     "writers": writers}
    return DONE
