"""A learner's saved runs come back: the first time a new session of the same browser opens a page
that uses models, its runs are read from the store (through the upload loader) into the session."""

from __future__ import annotations

import streamlit as st
from streamlit.logger import get_logger

from mnist_core.runstore import StoreError

from studio.session.models import MAX_MODELS, SessionModel, Studio, session_studio
from studio.ui.i18n import t
from studio.ui.pages import MODEL_PAGES

from .identity import learner_id
from .opening import get_store, reason

OPENING_WAIT_SECONDS = 10     # a visitor who arrives while the store opens waits this long for it
_log = get_logger(__name__)


def session_ui(page) -> None:
    """Before a page that uses models: bring back this browser's runs, once per session."""
    if page.url_path in MODEL_PAGES:
        _restore_once(session_studio())


def _restore_once(studio: Studio) -> None:
    if st.session_state.get("keep_restored") is studio:
        return
    store = get_store(wait=OPENING_WAIT_SECONDS)
    if store is None:
        return              # tried again on the next page the session opens
    st.session_state["keep_restored"] = studio
    try:
        learner = learner_id(create=False)
        kept = store.runs(learner)[:MAX_MODELS] if learner is not None else []
    except StoreError as exc:
        _log.warning("saved runs could not be read back: %s", exc)
        studio.notify("store.unavailable", detail=t(f"store.down.{reason(str(exc.values.get('detail', '')))}"))
        return
    if not kept:
        return
    from mnist_core.storage import ModelFileError
    restored = 0
    with st.spinner(t("store.restoring", count=len(kept))):
        for run in reversed(kept):                 # oldest first: the newest ends up active
            try:
                model, metadata = store.run_model(learner, run.id)
            except (StoreError, ModelFileError) as exc:
                _log.warning("a stored run could not be read back: %s", exc)
                continue
            metadata = {**run.record.get("metadata", {}), **metadata}
            studio.add(SessionModel(f"run-{run.number}", run.name, "kept", metadata, model=model))
            restored += 1
    studio.continue_numbers_after(max(run.number for run in kept))
    wanted = st.query_params.get("model")          # a link to one of these runs, after a reload
    if wanted in studio.models:
        studio.active_key = wanted
    if restored:
        studio.notify("store.restored", count=restored)      # the runs that came back, not those asked for
