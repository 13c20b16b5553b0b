"""MNIST Studio: the Keras MNIST tutorial, one page per step.

    streamlit run streamlit_app.py
"""

import streamlit as st

import mnist_core  # noqa: F401  (sets TensorFlow's log level before any page imports it)
from studio.runtime import keep_keras_state_across_reruns
from studio.sidebar import sidebar_ui

keep_keras_state_across_reruns()

PAGES = [
    st.Page("app_pages/overview.py", title="Overview", icon=":material/home:", default=True),
    st.Page("app_pages/explore.py", title="Explore", icon=":material/grid_view:", url_path="explore"),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
    st.Page("app_pages/evaluate.py", title="Evaluate", icon=":material/fact_check:", url_path="evaluate"),
    st.Page("app_pages/predict.py", title="Predict", icon=":material/draw:", url_path="predict"),
]


def main():
    st.set_page_config(page_title="MNIST Studio", page_icon=":material/draw:", layout="wide")
    page = st.navigation(PAGES)
    sidebar_ui()
    page.run()


main()
