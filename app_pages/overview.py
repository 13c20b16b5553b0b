"""Home: what MNIST is, the tutorial's steps, and the active model."""

import streamlit as st

from studio.session.models import session_studio
from studio.ui.i18n import t
from studio.ui.pages import STEPS
from studio.ui.sidebar import model_label

def main():
    st.title("MNIST Studio")
    st.markdown(t("overview.intro"))
    columns = st.columns(len(STEPS))
    for number, (column, page) in enumerate(zip(columns, STEPS), 1):
        with column.container(border=True, height="stretch"):
            st.page_link(page.file, label=f"{number} · {t(f'overview.step.{page.name}')}", icon=page.icon)
            st.caption(t(f"overview.step.{page.name}.text"))

    entry = session_studio().active()
    st.header(t("overview.active"))
    if entry is None:
        st.info(t("sidebar.no_model"))
    else:
        st.markdown(model_label(entry))
        st.caption(t(f"model.source.{entry.kind}"))


main()
