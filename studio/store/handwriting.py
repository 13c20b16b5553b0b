"""The class page's "Our handwriting" tab (issue #28): the learner's drawing round beside every model
measured on the class's drawings (redrawn every REFRESH_SECONDS), and, with the teacher key, the
teacher's tools. The page calls section_ui; the parts live in drawing, measures and classroom."""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict

import numpy as np
import streamlit as st

from mnist_core.runstore import StoreError
from mnist_core.runstore.handwriting import Handwriting

from studio.session.models import loaded, session_studio
from studio.ui.i18n import t
from . import classroom, drawing, identity, measures, opening

REFRESH_SECONDS = 5     # the view redraws itself this often for the teacher and whoever finished a round
_sets: OrderedDict = OrderedDict()       # (class code, version) -> its ClassSet, shared by the sessions
SETS_KEPT = 8
_sets_lock = threading.Lock()


def class_set(store, code: str):
    """The class's drawings (the learner's own marked), read from the store once per set version
    for the whole server: a class watching its board does not read the set sixty times."""
    learner = identity.learner_id(create=False)
    hand = Handwriting(store)
    version = hand.version(code)
    with _sets_lock:
        drawn = _sets.get((code, version))
    if drawn is None:
        drawn = hand.set(code, learner_id=-1)
        with _sets_lock:
            _sets[code, version] = drawn
            while len(_sets) > SETS_KEPT:
                _sets.popitem(last=False)
    owners = hand.owners(code, learner) if learner is not None else set()
    return dataclasses.replace(drawn, owner=np.isin(drawn.ids, list(owners)))


def measures_ui(store, code: str) -> None:
    try:
        drawn, entries = class_set(store, code), store.board(code)
    except StoreError as exc:
        st.warning(opening.error_text(exc))
        return
    measures.board_ui(store, code, drawn, entries)
    entry = session_studio().active()
    if entry is not None and entry.kind != "bundled" and entry.model is not None:
        measures.yours_ui(drawn, entry, loaded(entry)[1])


def base_spec():
    """The spec to train again: the active model's, if a run of this session made it; else the note's."""
    from mnist_core.networks.presets import TUTORIAL
    from mnist_core.runs.runspec import RunSpec
    entry = session_studio().active()
    made = entry.metadata if entry is not None and entry.kind in ("run", "kept") else {}
    try:
        return RunSpec(made["arch"], dict(made.get("hparams") or {}), int(made["epochs"]), int(made["batch_size"]),
                       float(made["validation_split"]), made.get("seed"), int(made.get("drawings") or 0)).validated()
    except (KeyError, TypeError, ValueError):
        return RunSpec.preset(TUTORIAL.name, seed=0)


def learn_ui(store, code: str) -> None:
    """Learning from it: the same run spec plus one switch, the class's drawings (all but yours)."""
    drawn = class_set(store, code)
    if drawn.owner is None or not drawn.owner.any() or drawn.owner.all():
        st.caption(t("hand.learn.wait"))
        return
    others = drawn.subset(~drawn.owner)
    spec = base_spec()
    st.markdown(t("hand.learn.text", count=len(others), mine=int(drawn.owner.sum())))
    if st.button(t("hand.learn.button", arch=t(f"arch.{spec.arch}.short"), count=len(others)),
                 icon=":material/model_training:"):
        from mnist_core.drawings.classset import ClassDrawings
        from studio.train import runs
        st.session_state["hand_learning"] = True
        runs.start_run(dataclasses.replace(spec, class_set=ClassDrawings.of(others.images, others.labels)))
    if st.session_state.get("hand_learning"):
        st.page_link("app_pages/train.py", label=t("hand.learn.watch"), icon=":material/monitoring:")


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
        # Live for the teacher and for a learner who asked after a round; while the class draws, each
        # learner's view stays as the page drew it: sixty live views cost the server more than sixty canvases.
        live = bool(key) or st.session_state.get(drawing.LIVE, False)
        st.fragment(measures_ui, run_every=REFRESH_SECONDS if live else None)(store, code)
    with st.expander(t("hand.learn"), icon=":material/school:"):
        learn_ui(store, code)
    if key:
        with st.expander(t("hand.teacher"), icon=":material/admin_panel_settings:"):
            classroom.tools_ui(store, code, key, class_set(store, code), store.board(code))
