"""MNIST Studio: the Keras MNIST tutorial, one page per step.

    streamlit run streamlit_app.py
"""

from pathlib import Path

import streamlit as st

import mnist_core  # noqa: F401  (sets TensorFlow's log level before any page imports it)
from studio.server import warmup

warmup.settings_or_stop()   # before the store's modules read them: a bad setting stops the server

from studio.store import note, restoring  # noqa: E402
from studio.session.models import choose_model_from_url, session_studio  # noqa: E402
from studio.ui import style  # noqa: E402
from studio.ui.i18n import choose_language, t
from studio.ui.pages import CLASS, MODEL_PAGES, OVERVIEW, STEPS
from studio.predict.reading import note_link_choice
from studio.server.runtime import keep_keras_state_across_reruns, limit_heap_arenas
from studio.ui.sidebar import notices_ui, sidebar_place, sidebar_ui

limit_heap_arenas()     # before TensorFlow starts its threads: freed memory goes back (see runtime)
keep_keras_state_across_reruns()
warmup.start_once()     # TensorFlow, the bundled models and their indexes, before anyone asks

# Shipped with the app: a page icon named like ":material/draw:" is fetched from a font host.
ICON = str(Path(__file__).with_name("static") / "favicon.png")


def pages() -> list:
    # The overview is served at "/" (default=True), so its own address is never used.
    return [st.Page(OVERVIEW.file, title=t("page.overview"), icon=OVERVIEW.icon, default=True)] + [
        st.Page(page.file, title=t(f"page.{page.name}"), icon=page.icon, url_path=page.name)
        for page in (*STEPS, CLASS)]


def main():
    # The shipped icon first: after st.navigation the page's own Material icon would become the
    # favicon, which the browser fetches from a font host (and fails offline).
    st.set_page_config(page_icon=ICON, layout="wide")
    style.apply()
    choose_language()
    note_link_choice()      # before the app writes its own ?model= into the address
    page = st.navigation(pages())
    if page.url_path in MODEL_PAGES:
        warmup.import_keras()  # one thread imports TensorFlow; this page waits for it, never races it
    studio = session_studio()
    studio.settle()           # runs finished since the last page, applied before any page takes a model
    restoring.session_ui(page)     # this browser's kept runs come back before a link chooses among them
    choose_model_from_url(studio)
    st.set_page_config(page_title=f"{page.title} · MNIST Studio", page_icon=ICON)
    sidebar = sidebar_place()
    notices_ui()
    try:
        page.run()
    finally:   # after the page, even one that stopped early: the sidebar says what the page did
        sidebar_ui(sidebar)
        with st.sidebar:
            note.sidebar_ui()


main()
