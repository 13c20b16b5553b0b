"""Every model measured on the class's handwriting (issue #28): each drawing read once per model, in a
batch through its Predictor on a worker thread of the server (never the page's), and shown as the
"Our handwriting" view of the class board.

A new drawing changes the set's version; only the drawings a model has not read yet go through it
(one batch per model, whatever arrived meanwhile), so a class drawing at once costs each model one
forward pass per new drawing. The server keeps what each model said about each drawing for
MAX_MODELS models (a few bytes a drawing); a page shows the measure on the drawings read so far and
says how many are still being read.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pandas as pd
import streamlit as st
from streamlit.logger import get_logger

from mnist_core.drawings import classset

from studio.session import bundled
from studio.ui import charts
from studio.ui.i18n import t

MAX_MODELS = 400                 # models whose readings the server keeps (the oldest asked go first)
SCALE = 3                        # the misread drawings, 84 px wide
_pool = ThreadPoolExecutor(1, thread_name_prefix="mnist-class-measure")   # one at a time: drawers first
_said: OrderedDict[str, dict] = OrderedDict()      # model key -> {drawing id: (digit, confidence)}
_pending: dict[str, Future] = {}
_loaded: OrderedDict[str, object] = OrderedDict()   # published runs' Predictors, on the worker only
LOADED_AT_MOST = 6                                  # (up to 16 MiB each)
_tokens: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()    # session model -> session_key's token
_lock = threading.Lock()
_log = get_logger(__name__)


def measured(model_key: str, drawn, predictor) -> tuple[classset.Measure | None, np.ndarray, int]:
    """(the measure on the drawings `model_key` has read, their rows in `drawn`, how many are still
    being read). Drawings it has not read go to the worker thread in one batch. `predictor` is a
    Predictor or a function returning one (a published run's model loads on the worker too)."""
    with _lock:
        said = _said.setdefault(model_key, {})
        _said.move_to_end(model_key)
        while len(_said) > MAX_MODELS:
            _pending.pop(_said.popitem(last=False)[0], None)
        rows = np.array([i for i, drawing in enumerate(drawn.ids.tolist()) if drawing in said], dtype=np.int64)
        missing = np.setdiff1d(np.arange(len(drawn)), rows)
        job = _pending.get(model_key)
        failed = job is not None and job.done() and job.exception() is not None
        if len(missing) and (job is None or job.done()) and not failed:     # a broken model is not retried
            _pending[model_key] = _pool.submit(_read, model_key, said, predictor,
                                               drawn.ids[missing], drawn.images[missing])
        pairs = [said[int(drawing)] for drawing in drawn.ids[rows]]
    if failed:
        _log.warning("a model could not be measured on a class's set: %s", job.exception())
    if not len(rows):
        return None, rows, len(missing)
    predicted = np.array([digit for digit, _ in pairs], dtype=np.int64)
    confidence = np.array([p for _, p in pairs], dtype=np.float32)
    return classset.Measure(drawn.version, predicted, confidence, drawn.labels[rows]), rows, len(missing)


def _read(model_key: str, said: dict, predictor, ids, images) -> None:
    if callable(predictor) and not hasattr(predictor, "predict_proba"):
        if model_key not in _loaded:
            _loaded[model_key] = predictor()
            while len(_loaded) > LOADED_AT_MOST:
                _loaded.popitem(last=False)
        _loaded.move_to_end(model_key)
        predictor = _loaded[model_key]
    reading = classset.measure(predictor, images, np.zeros(len(ids), np.int64), model_key)
    with _lock:
        said.update({int(i): (int(d), float(p)) for i, d, p in zip(ids, reading.predicted, reading.confidence)})


def published_predictor(store, code: str, entry_id: int):
    """A published run's Predictor, loaded on the worker thread (through the upload loader)."""
    def load():
        from mnist_core.predict import Predictor
        model, metadata = store.entry_model(code, entry_id)
        return Predictor(model, metadata.get("withhold_below"))
    return load


def models_of(store, code: str, entries) -> list[tuple[str, str, float | None, object]]:
    """(key, name, MNIST test accuracy, predictor) for the two bundled models and each published run."""
    found = [(f"bundled:{key}", t(f"bundled.{key}"), bundled.metadata(key).get("test_accuracy"),
              bundled.model(key)[1]) for key in bundled.available()]
    for entry in entries:
        found.append((f"entry:{entry.id}", f"#{entry.id} {entry.display_name}", entry.run.test_accuracy,
                      published_predictor(store, code, entry.id)))
    return found


def board_ui(store, code: str, drawn, entries) -> None:
    """The view: each model's accuracy on the class's drawings beside its MNIST test accuracy, per
    digit, and the drawings it misreads most confidently."""
    st.markdown(t("hand.board.title", count=len(drawn), learners=len(set(drawn.learners.tolist()))))
    if not len(drawn):
        st.info(t("hand.board.empty"))
        return
    results, keys, waiting = [], [], 0
    for key, name, mnist, predictor in models_of(store, code, entries):
        measure, rows, missing = measured(key, drawn, predictor)
        waiting = max(waiting, missing)
        if measure is not None:
            results.append((name, mnist, measure, rows))
            keys.append(key)
    if waiting:
        st.caption(t("hand.board.measuring", count=waiting))
    if not results:
        return
    shown = [(name, mnist, m) for key, (name, mnist, m, _) in zip(keys, results) if key.startswith("bundled:")]
    for column, (name, mnist, m) in zip(st.columns(max(1, len(shown))), shown):
        column.metric(t("hand.metric", name=name), f"{m.accuracy:.1%}",
                      delta=None if mnist is None else t("hand.metric.delta", points=f"{(m.accuracy - mnist) * 100:+.1f}"),
                      help=t("hand.metric.help", mnist="" if mnist is None else f"{mnist:.1%}"))
    rows = [{t("hand.col.model"): name, t("hand.col.class"): m.accuracy, t("col.test_accuracy"): mnist,
             t("hand.col.gap"): None if mnist is None else m.accuracy - mnist} for name, mnist, m, _ in results]
    percent = st.column_config.NumberColumn(format="percent")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config={
        t("hand.col.class"): percent, t("col.test_accuracy"): percent, t("hand.col.gap"): percent})
    matrix = np.array([m.per_digit() for _, _, m, _ in results])
    st.markdown(t("hand.board.per_digit"))
    charts.heatmap(np.round(matrix * 100, 1), row="model", column="digit", value="accuracy",
                   scheme="greens", linear=True, height=max(130, 60 + 32 * len(results)),
                   key="hand-digits", row_labels=[name for name, _, _, _ in results])
    misreads_ui(drawn, results)


def misreads_ui(drawn, results) -> None:
    names = [name for name, _, _, _ in results]
    picked = st.selectbox(t("hand.board.misreads"), range(len(names)), format_func=names.__getitem__,
                          key="hand_misreads_model")
    _, _, measure, rows = results[picked]
    worst = measure.confident_misreads()
    if not len(worst):
        st.caption(t("hand.board.no_misreads"))
        return
    said = [int(measure.predicted[i]) for i in worst]
    labels = [int(measure.labels[i]) for i in worst]
    charts.digit_row(drawn.images[rows[worst]],
                     [t("hand.misread", label=label, said=s, p=f"{measure.confidence[i]:.0%}")
                      for i, label, s in zip(worst, labels, said)],
                     [charts.digit_alt(label, s) for label, s in zip(labels, said)], scale=SCALE)


def session_key(model) -> str:
    """A session model's key in the readings: a token of its own, never reused (id() is, once the
    model is freed, and another learner's model at that address would be shown its readings)."""
    with _lock:
        token = _tokens.get(model)
        if token is None:
            token = _tokens[model] = uuid.uuid4().hex
    return f"session:{token}"


def yours_ui(drawn, entry, predictor) -> None:
    """Your model on your classmates' handwriting (every drawing but yours); a model trained with the
    class's drawings (which were all but yours) on your own, which it never saw."""
    if entry is None or entry.kind == "bundled" or drawn.owner is None:
        return
    learned = entry.metadata.get("class_set") is not None
    mine = drawn.owner if learned else ~drawn.owner
    st.markdown(t("hand.learned.title" if learned else "hand.yours.title", name=entry.name))
    if not mine.any():
        st.caption(t("hand.learned.none" if learned else "hand.yours.none"))
        return
    measure, _, missing = measured(session_key(entry.model), drawn.subset(mine), predictor)
    if missing:
        st.caption(t("hand.board.measuring", count=missing))
    if measure is not None:
        st.metric(t("hand.learned.metric" if learned else "hand.yours.metric", count=measure.count),
                  f"{measure.accuracy:.1%}",
                  delta=None if entry.test_accuracy is None else f"{measure.accuracy - entry.test_accuracy:+.1%}",
                  help=t("hand.yours.help"))
