"""MNIST for every page: loaded once per server process, and after a failure not retried on every
click (a learner offline would otherwise wait on a download at each rerun)."""

from __future__ import annotations

import threading
import time

import streamlit as st

from mnist_core.data import MnistData, MnistDataError, load_mnist

from studio.ui.i18n import t

RETRY_SECONDS = 60

_failure: tuple[float, str] | None = None
_origin: str | None = None      # set once the data has loaded, for the sidebar
_lock = threading.Lock()


@st.cache_resource(show_spinner=False)
def load() -> MnistData:
    """The shared arrays (cached; the warm-up thread calls this too). Raises MnistDataError."""
    return load_mnist()


def get_data() -> MnistData | None:
    """MNIST, or None when it can't be had (the reason is in problem())."""
    global _failure, _origin
    with _lock:
        if _failure and time.monotonic() - _failure[0] < RETRY_SECONDS:
            return None
    try:
        with st.spinner(t("data.loading")):
            data = load()
    except MnistDataError as exc:
        with _lock:
            _failure = (time.monotonic(), str(exc))
        return None
    with _lock:
        _failure, _origin = None, data.origin
    return data


def problem() -> str | None:
    return _failure[1] if _failure else None


def loaded_yet() -> bool:
    return _origin is not None


def data_status() -> str:
    """Where the data came from, or why it is missing, without loading it: pages that need no
    data (Overview, Predict) must not pay for it, nor wait on a download attempt offline."""
    if _origin:
        return t(f"data.origin.{_origin}")
    if _failure:
        return t("data.missing_short")
    return t("data.not_loaded")


def require_data() -> MnistData:
    """The data, or a friendly explanation and the end of this page's run."""
    data = get_data()
    if data is None:
        st.error(t("data.missing_title"))
        st.markdown(t("data.missing_help"))
        with st.expander(t("data.details")):   # the library's own words, for whoever set it up
            st.code(problem() or "", language=None)
        st.stop()
    return data
