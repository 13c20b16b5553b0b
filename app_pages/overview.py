"""Home: what MNIST is, the tutorial's steps, and the active model."""

import streamlit as st

from studio import state
from studio.i18n import t
from studio.sidebar import model_label

STEPS = [("app_pages/tutorial.py", ":material/school:", "tutorial"),
         ("app_pages/explore.py", ":material/grid_view:", "explore"),
         ("app_pages/train.py", ":material/model_training:", "train"),
         ("app_pages/evaluate.py", ":material/fact_check:", "evaluate"),
         ("app_pages/predict.py", ":material/draw:", "predict")]


def main():
    st.title("MNIST Studio")
    st.markdown(t("overview.intro"))
    columns = st.columns(len(STEPS))
    for number, (column, (page, icon, name)) in enumerate(zip(columns, STEPS), 1):
        with column.container(border=True, height="stretch"):
            st.page_link(page, label=f"{number} · {t(f'overview.step.{name}')}", icon=icon)
            st.caption(t(f"overview.step.{name}.text"))

    entry = state.studio().active()
    st.subheader(t("overview.active"))
    if entry is None:
        st.info(t("sidebar.no_model"))
    else:
        st.markdown(model_label(entry))
        st.caption(t(f"model.source.{entry.kind}"))


main()
