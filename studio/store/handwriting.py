"""The class page's "Our handwriting" tab (issue #28): the learner's drawing round beside every model
measured on the class's drawings (redrawn every REFRESH_SECONDS), and, with the teacher key, the
teacher's tools. The page calls section_ui; the parts live in drawing, measures and classroom."""

from __future__ import annotations

import streamlit as st

from mnist_core.runstore import StoreError
from mnist_core.runstore.handwriting import Handwriting

from studio import state
from studio.ui.i18n import t
from . import classroom, drawing, keep, measures

REFRESH_SECONDS = 3


def class_set(store, code: str):
    """The class's drawings, read again only when the set's version changed."""
    learner = keep.learner_id(create=False)
    hand = Handwriting(store)
    version = hand.version(code)
    cached = st.session_state.get("hand_set")
    if cached is None or cached[0] != (code, version, learner):
        cached = st.session_state["hand_set"] = ((code, version, learner), hand.set(code, learner_id=learner))
    return cached[1]


def measures_ui(store, code: str) -> None:
    try:
        drawn, entries = class_set(store, code), store.board(code)
    except StoreError as exc:
        st.warning(keep.error_text(exc))
        return
    measures.board_ui(store, code, drawn, entries)
    entry = state.studio().active()
    if entry is not None and entry.kind != "bundled" and entry.model is not None:
        measures.yours_ui(drawn, entry, state.loaded(entry)[1])


def section_ui(store, code: str, info, key: str | None) -> None:
    st.caption(t("hand.caption"))
    if info.closed:
        st.info(t("hand.class_closed"), icon=":material/lock:")
        return
    left, right = st.columns([2, 3], gap="large")
    with left:
        if Handwriting(store).drawing_closed(code):
            st.info(t("hand.closed"), icon=":material/edit_off:")
        else:
            st.fragment(drawing.round_ui)(store, code)
    with right:
        st.fragment(measures_ui, run_every=REFRESH_SECONDS)(store, code)
    if key:
        with st.expander(t("hand.teacher"), icon=":material/school:"):
            classroom.tools_ui(store, code, key, class_set(store, code), store.board(code))
