"""Every model measured on the class's handwriting (issue #28): computed once per model and set
version, on a worker thread of the server (never the page's), and shown as the "Our handwriting"
view of the class board.

A measure is one batch through the model's Predictor (mnist_core.drawings.classset.measure). The
server keeps the newest MAX_KEPT results (a few KB each); a page that finds its result not ready
says so and its fragment looks again on its next refresh.
"""

from __future__ import annotations

import threading
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

MAX_KEPT = 400                   # (model, set version) results the server keeps
SCALE = 3                        # the misread drawings, 84 px wide
_pool = ThreadPoolExecutor(1, thread_name_prefix="mnist-class-measure")   # one at a time: drawers first
_results: OrderedDict[tuple, Future] = OrderedDict()
_lock = threading.Lock()
_log = get_logger(__name__)


def measured(model_key: str, version: str, predictor, images, labels) -> classset.Measure | None:
    """The measure of `model_key` on this set version, or None while it is being computed.
    `predictor` is a Predictor or a function returning one (loading a published run's model is
    itself work for the worker thread)."""
    key = (model_key, version)
    with _lock:
        future = _results.get(key)
        if future is None:
            future = _results[key] = _pool.submit(_measure, predictor, images, labels, version)
            while len(_results) > MAX_KEPT:
                _results.popitem(last=False)
        _results.move_to_end(key)
    if not future.done():
        return None
    try:
        return future.result()
    except Exception:              # noqa: BLE001 (a stored model that no longer loads: said, not raised)
        _log.warning("a model could not be measured on a class's set", exc_info=True)
        return classset.Measure(version, np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, np.int64))


def _measure(predictor, images, labels, version) -> classset.Measure:
    if callable(predictor) and not hasattr(predictor, "predict_proba"):
        predictor = predictor()
    return classset.measure(predictor, images, labels, version)


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
        measure = measured(key, drawn.version, predictor, drawn.images, drawn.labels)
        if measure is None:
            waiting += 1
        elif measure.count:
            results.append((name, mnist, measure))
            keys.append(key)
    if waiting:
        st.caption(t("hand.board.measuring", count=waiting))
    if not results:
        return
    bundled_results = [(name, mnist, m) for key, (name, mnist, m) in zip(keys, results) if key.startswith("bundled:")]
    for column, (name, mnist, m) in zip(st.columns(max(1, len(bundled_results))), bundled_results):
        column.metric(t("hand.metric", name=name), f"{m.accuracy:.1%}",
                      delta=None if mnist is None else t("hand.metric.delta", points=f"{(m.accuracy - mnist) * 100:+.1f}"),
                      help=t("hand.metric.help", mnist="" if mnist is None else f"{mnist:.1%}"))
    rows = [{t("hand.col.model"): name, t("hand.col.class"): m.accuracy, t("col.test_accuracy"): mnist,
             t("hand.col.gap"): None if mnist is None else m.accuracy - mnist} for name, mnist, m in results]
    percent = st.column_config.NumberColumn(format="percent")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config={
        t("hand.col.class"): percent, t("col.test_accuracy"): percent, t("hand.col.gap"): percent})
    matrix = np.array([m.per_digit() for _, _, m in results])
    st.markdown(t("hand.board.per_digit"))
    charts.heatmap(np.round(matrix * 100, 1), row="model", column="digit", value="accuracy",
                   scheme="greens", linear=True, height=max(130, 60 + 32 * len(results)),
                   key="hand-digits", row_labels=[name for name, _, _ in results])
    misreads_ui(drawn, results)


def misreads_ui(drawn, results) -> None:
    names = [name for name, _, _ in results]
    picked = st.selectbox(t("hand.board.misreads"), range(len(names)), format_func=names.__getitem__,
                          key="hand_misreads_model")
    measure = results[picked][2]
    worst = measure.confident_misreads()
    if not len(worst):
        st.caption(t("hand.board.no_misreads"))
        return
    said = [int(measure.predicted[i]) for i in worst]
    charts.digit_row(drawn.images[worst],
                     [t("hand.misread", label=int(drawn.labels[i]), said=s, p=f"{measure.confidence[i]:.0%}")
                      for i, s in zip(worst, said)],
                     [charts.digit_alt(int(drawn.labels[i]), s) for i, s in zip(worst, said)], scale=SCALE)


def yours_ui(drawn, entry, predictor) -> None:
    """Your model on your classmates' handwriting: the session's own model on every drawing but yours."""
    if entry is None or entry.kind == "bundled" or drawn.owner is None:
        return
    others = drawn.subset(~drawn.owner)
    st.markdown(t("hand.yours.title", name=entry.name))
    if not len(others):
        st.caption(t("hand.yours.none"))
        return
    measure = measured(f"session:{id(entry.model)}", others.version, predictor, others.images, others.labels)
    if measure is None:
        st.caption(t("hand.board.measuring", count=1))
    elif measure.count:
        st.metric(t("hand.yours.metric", count=measure.count), f"{measure.accuracy:.1%}",
                  delta=None if entry.test_accuracy is None else f"{measure.accuracy - entry.test_accuracy:+.1%}",
                  help=t("hand.yours.help"))
