"""Teach the model: the learner says what a misread drawing shows, and a copy of the model learns it.

The corrections and the taught copy belong to the session (released with it). Fine-tuning runs on
a worker thread shared by the server, one at a time, never on the script thread; the page waits
for it with a spinner (about a second or two on 2 cores).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import streamlit as st
from streamlit.logger import get_logger

from . import state
from .i18n import t

_log = get_logger(__name__)
_tuner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fine-tune")
WAIT_SECONDS = 120      # a fine-tune queued behind others gives up after this
TAUGHT_KEY = "taught"   # one taught model per session, replaced by each new lesson


def _learn(base_model, images, labels, data, base_predictor):
    """Worker-thread side: fine-tune a copy (replaying MNIST and real pen digits), evaluate it on the
    test set, and read the held-out writers' pen digits before and after."""
    from mnist_core import corrections, evaluation
    from mnist_core.predict import Predictor
    tuned = corrections.fine_tune(base_model, images, labels, data.x_train, data.y_train,
                                  pen=corrections.pen_replay())
    predictor = Predictor(tuned, base_predictor.withhold_below)
    writers = (corrections.held_out_accuracy(base_predictor), corrections.held_out_accuracy(predictor))
    return tuned, predictor, evaluation.evaluate(tuned, data.x_test, data.y_test, predictor=predictor), writers


def teach_ui(entry: state.SessionModel, model_image: np.ndarray, reading) -> None:
    """'Wrong? Teach it': pick the right answer, learn it, show MNIST accuracy before and after."""
    from mnist_core.corrections import MAX_CORRECTIONS, to_npz
    from mnist_core.pendigits import HELD_OUT_WRITERS
    from mnist_core.preprocess import NOT_A_DIGIT
    studio = state.studio()
    with st.expander(t("teach.title"), icon=":material/school:",
                     expanded=bool(studio.lesson) or not reading.sure):
        st.caption(t("teach.caption"))
        choice = st.pills(t("teach.label"), list(range(10)) + [NOT_A_DIGIT],
                          format_func=lambda v: str(v) if v != NOT_A_DIGIT else t("teach.not_a_digit"),
                          key="teach_label")
        if st.button(t("teach.learn"), icon=":material/model_training:", disabled=choice is None,
                     type="primary"):
            data = state.get_data()
            if data is None:
                st.error(t("teach.no_data"))
            elif _teach(studio, entry, model_image, int(choice), data):
                st.rerun()          # the taught copy answers now, on every page
            else:
                st.error(t("teach.failed"))
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


def _teach(studio: state.Studio, entry: state.SessionModel, model_image, label: int, data) -> bool:
    """Add the correction and learn all of them; False if the lesson could not be given (the
    correction is kept either way)."""
    import time

    from mnist_core.corrections import MAX_CORRECTIONS
    # Every lesson starts from the model first corrected (not from the last lesson), so it never drifts.
    base = studio.lesson_base
    if entry.key != TAUGHT_KEY or base is None or (base.kind != "bundled" and base.model is None):
        studio.lesson_base = entry
    base = studio.lesson_base
    base_model, base_predictor = state.loaded(base)
    studio.corrections = (studio.corrections + [(np.asarray(model_image, np.float32), label)])[-MAX_CORRECTIONS:]
    images = np.stack([image for image, _ in studio.corrections])
    labels = np.array([digit for _, digit in studio.corrections])
    started = time.perf_counter()
    with st.spinner(t("teach.learning", n=len(labels))):
        before = state.report(base, data).accuracy
        future = _tuner.submit(_learn, base_model, images, labels, data, base_predictor)
        try:
            tuned, predictor, after, writers = future.result(timeout=WAIT_SECONDS)
        except Exception:       # a queue too long, or a failure in TensorFlow: logged, not shown
            future.cancel()
            _log.exception("fine-tuning on %d corrections failed", len(labels))
            return False
    name = t("teach.model_name", base=base.name, n=len(labels))
    metadata = {**base.metadata, "name": name, "corrections": len(labels), "tuned_from": base.key,
                "test_accuracy": after.accuracy, "test_accuracy_before": before}
    studio.add(state.SessionModel(TAUGHT_KEY, name, "tuned", metadata, model=tuned,
                                  predictor=predictor, report=after))
    studio.lesson = {"count": len(labels), "base_name": base.name, "before": before,
                     "after": after.accuracy, "seconds": time.perf_counter() - started, "writers": writers}
    return True
