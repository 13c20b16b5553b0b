"""The sidebar's note on the store: how long runs are kept, with Forget me, or why nothing is kept."""

from __future__ import annotations

import streamlit as st

from mnist_core.runstore import bounds

from studio.ui.i18n import t

from .identity import forget, write_cookie
from .opening import get_store, unavailable_text


def sidebar_ui() -> None:
    """At the bottom of the sidebar: write the cookie (its lifetime renewed each visit), and say
    how long runs are kept, with Forget me, or why nothing is kept."""
    write_cookie()
    store = get_store()
    if store is None:
        st.warning(unavailable_text(), icon=":material/cloud_off:")
        return
    st.caption(t("store.kept", days=f"{bounds.RETENTION_DAYS:g}", limit=bounds.MAX_RUNS_PER_LEARNER))
    if st.session_state.pop("keep_forgotten", None) is not None:
        st.success(t("store.forgotten"))
    with st.popover(t("store.forget"), icon=":material/delete:"):
        st.markdown(t("store.forget.text"))
        if st.button(t("store.forget.confirm"), type="primary", key="keep_forget"):
            forget()
