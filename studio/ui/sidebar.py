"""The sidebar on every page: the language, the active model, your training, where MNIST came from.

It imports no TensorFlow and loads no data: it only reports what the pages have loaded.
"""

from __future__ import annotations

import streamlit as st

from . import i18n, urls
from studio.session.dataset import data_status
from studio.session.models import SessionModel, session_studio
from .i18n import t


def language_ui() -> None:
    languages = list(i18n.LANGUAGES)
    st.segmented_control("Language · 语言", languages, format_func=i18n.LANGUAGES.get,
                         key=i18n.STATE_KEY, required=True, label_visibility="collapsed")
    urls.write(lang=i18n.language())


def model_label(entry: SessionModel) -> str:
    """"Your run 2 · dense, 97.90 %" / "Bundled: ..." — the same words on every page."""
    accuracy = entry.test_accuracy
    text = t(f"model.kind.{entry.kind}", name=entry.name)
    return text + (f" · {accuracy:.2%}" if accuracy is not None else "")


ANSWERING = "sidebar_answering"    # the model this script run's page answers with, named by its banner


def model_banner_ui(entry: SessionModel) -> None:
    """The top of every page that uses a model: which one answers, and where to change it. The
    sidebar then names the same model (a fresh link's Predict answers with the best reader)."""
    st.session_state[ANSWERING] = entry
    st.info(t("banner.model", label=model_label(entry)), icon=":material/neurology:")


def sidebar_place():
    """The sidebar's place, made before the page runs: it is filled after it (sidebar_ui)."""
    st.session_state.pop(ANSWERING, None)      # the page about to run names its own, if any
    return st.sidebar.container()


def sidebar_ui(place) -> None:
    """Drawn into `place` after the page has run: the model is the one that answered on this page
    (its banner said which), else the session's active model."""
    studio = session_studio()
    with place:
        language_ui()
        st.markdown("##### " + t("sidebar.model"))
        entry = st.session_state.get(ANSWERING) or studio.active()
        if entry is None:
            st.warning(t("sidebar.no_model"))
        else:
            st.markdown(model_label(entry))
        for job in studio.running():
            snapshot = job.snapshot()
            if snapshot.state == "queued":
                st.info(t("sidebar.queued", name=job.name, place=i18n.ordinal(snapshot.position or 1)),
                        icon=":material/hourglass:")
            else:
                st.info(t("sidebar.training", name=job.name), icon=":material/model_training:")
        st.caption(t("sidebar.data", status=data_status()))


def notices_ui() -> None:
    """What happened to the session's models since the last page draw, once, as toasts."""
    for key, values in session_studio().take_notices():
        st.toast(t(key, **values), icon=":material/info:")
