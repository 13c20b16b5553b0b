"""MNIST Studio: the Keras MNIST tutorial, one page per step.

    streamlit run streamlit_app.py
"""

from pathlib import Path

import streamlit as st

import mnist_core  # noqa: F401  (sets TensorFlow's log level before any page imports it)
from studio import keep, state, warmup
from studio.i18n import choose_language, t
from studio.runtime import keep_keras_state_across_reruns, limit_heap_arenas
from studio.sidebar import notices_ui, sidebar_ui

limit_heap_arenas()     # before TensorFlow starts its threads: freed memory goes back (see runtime)
keep_keras_state_across_reruns()
warmup.start_once()     # TensorFlow, the bundled models and their indexes, before anyone asks

# Shipped with the app: a page icon named like ":material/draw:" is fetched from a font host.
ICON = str(Path(__file__).with_name("static") / "favicon.png")


def pages() -> list:
    return [
        st.Page("app_pages/overview.py", title=t("page.overview"), icon=":material/home:", default=True),
        st.Page("app_pages/tutorial.py", title=t("page.tutorial"), icon=":material/school:",
                url_path="tutorial"),
        st.Page("app_pages/explore.py", title=t("page.explore"), icon=":material/grid_view:",
                url_path="explore"),
        st.Page("app_pages/train.py", title=t("page.train"), icon=":material/model_training:",
                url_path="train"),
        st.Page("app_pages/evaluate.py", title=t("page.evaluate"), icon=":material/fact_check:",
                url_path="evaluate"),
        st.Page("app_pages/predict.py", title=t("page.predict"), icon=":material/draw:",
                url_path="predict"),
        st.Page("app_pages/class_board.py", title=t("page.class"), icon=":material/groups:",
                url_path="class"),
    ]


def main():
    # The shipped icon first: after st.navigation the page's own Material icon would become the
    # favicon, which the browser fetches from a font host (and fails offline).
    st.set_page_config(page_icon=ICON, layout="wide")
    choose_language()
    page = st.navigation(pages())
    studio = state.studio()
    studio.settle()           # runs finished since the last page, applied before any page takes a model
    keep.session_ui(page)     # this browser's kept runs come back before a link chooses among them
    state.choose_model_from_url(studio)
    st.set_page_config(page_title=f"{page.title} · MNIST Studio", page_icon=ICON)
    sidebar = st.sidebar.container()
    notices_ui()
    try:
        page.run()
    finally:   # after the page, even one that stopped early: the sidebar says what the page did
        sidebar_ui(sidebar)
        with st.sidebar:
            keep.sidebar_ui()


main()
