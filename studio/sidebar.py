"""The sidebar on every page: the active model and where the data came from.

It imports no TensorFlow and loads no data: it only reports what the pages have loaded.
"""

from __future__ import annotations

import streamlit as st

from mnist_core.jobs import SERVER_QUEUE

from . import state


def sidebar_ui() -> None:
    with st.sidebar:
        st.markdown("##### Active model")
        entry = state.studio().active()
        if entry is None:
            st.warning("No model yet: train one on **Train**.")
        else:
            accuracy = entry.test_accuracy
            st.markdown(f"**{entry.name}**")
            st.caption(f"Test accuracy {accuracy:.2%} · {entry.source}" if accuracy is not None
                       else entry.source)
        running = state.studio().running()
        if running:
            st.info(f"Training: {', '.join(r.name for r in running)}", icon=":material/model_training:")
        training, waiting = SERVER_QUEUE.counts()
        st.caption(f"Server: {training} training, {waiting} waiting "
                   f"(at most {SERVER_QUEUE.slots} at once)")
        st.markdown("##### Data")
        st.caption(state.data_status())
