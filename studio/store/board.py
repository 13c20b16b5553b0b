"""A class board (issue #20): what the class page shows, from the store's plain records.

Names a visitor typed (class names, display names) reach the page only as table cells, chart data
or Markdown with every punctuation mark escaped (studio.ui.markdown.plain): never as markup.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import streamlit as st

from mnist_core.runstore import StoreError

from studio.ui import charts
from .opening import error_text, get_store, unavailable_text
from studio.session.models import SessionModel, session_studio
from studio.ui.i18n import t

REFRESH_SECONDS = 5          # the board redraws itself this often: runs appear while you watch
TOP_CONFUSIONS = 5


def link(code: str) -> str:
    """The address to share: this server's /class page with the class code."""
    base = (st.context.url or "").split("?")[0].rstrip("/")
    base = base.rsplit("/", 1)[0] if base.endswith("/class") else base
    return f"{base}/class?code={code}"


def label(entry) -> str:
    return f"#{entry.id} {entry.display_name}"


def table_ui(entries) -> None:
    rows = [{t("board.col.entry"): f"#{e.id}", t("board.col.name"): e.display_name,
             t("col.architecture"): e.run.arch, t("board.col.parameters"): e.run.parameters,
             t("col.test_accuracy"): e.run.test_accuracy, t("col.seconds"): e.run.train_seconds,
             t("board.col.published"): dt.datetime.fromtimestamp(e.published_at).strftime("%H:%M")}
            for e in entries]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config={
        t("col.test_accuracy"): st.column_config.NumberColumn(format="percent")})


def curves_ui(entries) -> None:
    rows = []
    for e in entries:
        history = e.run.record.get("metadata", {}).get("history", {})
        metric = "val_accuracy" if history.get("val_accuracy") else "accuracy"
        rows += [{"epoch": epoch, "accuracy": value, "series": label(e)}
                 for epoch, value in enumerate(history.get(metric, []), 1)]
    if rows:
        st.markdown(t("board.curves"))
        charts.line_chart(pd.DataFrame(rows), x="epoch", y="accuracy", color="series", key="board-curves")


def per_digit_ui(entries) -> None:
    matrix = np.array([e.run.record.get("per_digit", {}).get("recall", [np.nan] * 10) for e in entries],
                      dtype=float)
    st.markdown(t("board.per_digit"))
    charts.heatmap(np.round(matrix * 100, 1), row="run", column="digit", value="accuracy",
                   scheme="greens", linear=True, height=max(130, 60 + 32 * len(entries)), key="board-digits",
                   row_labels=[label(e) for e in entries])


def confusions_ui(entries) -> None:
    """What the class as a whole confuses: the confusion matrices summed, the diagonal left out."""
    total = np.zeros((10, 10), dtype=np.int64)
    for e in entries:
        confusion = np.asarray(e.run.record.get("confusion", np.zeros((10, 10))), dtype=np.int64)
        if confusion.shape == (10, 10):
            total += confusion
    np.fill_diagonal(total, 0)
    st.markdown(t("board.confusions"))
    left, right = st.columns([2, 1])
    with left:
        charts.heatmap(total, row="true", column="predicted", value="images", key="board-confusions")
    with right:
        order = np.argsort(-total, axis=None)[:TOP_CONFUSIONS]
        for true_digit, predicted in zip(*np.unravel_index(order, total.shape)):
            if total[true_digit, predicted]:
                st.markdown(t("board.confused", true=int(true_digit), predicted=int(predicted),
                              count=f"{int(total[true_digit, predicted]):,}"))


def entries_ui(code: str) -> list:
    """The board's entries as a table and charts (the page redraws them every REFRESH_SECONDS)
    -> the entries."""
    store = get_store()
    if store is None:
        st.warning(unavailable_text())
        return []
    try:
        entries = store.board(code)
    except StoreError as exc:
        st.warning(error_text(exc))
        return []
    if not entries:
        st.info(t("board.empty"))
        return []
    table_ui(entries)
    curves_ui(entries)
    per_digit_ui(entries)
    confusions_ui(entries)
    return entries


def open_entry(code: str, entry_id: int, page: str) -> None:
    """A published run as this session's read-only model, opened in Evaluate or Predict."""
    from mnist_core.storage import ModelFileError
    store = get_store()
    if store is None:           # the store went away since the board was drawn
        st.error(unavailable_text())
        return
    try:
        with st.spinner(t("model.loading")):
            model, metadata = store.entry_model(code, entry_id)
    except (StoreError, ModelFileError) as exc:
        st.error(error_text(exc) if isinstance(exc, StoreError) else t("store.error.no_such_run"))
        return
    studio = session_studio()
    studio.add(SessionModel(f"class-{entry_id}", t("board.entry_model", number=entry_id), "published",
                            metadata, model=model))
    st.switch_page(f"app_pages/{page}.py")
