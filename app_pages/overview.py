"""Home: what MNIST is, the tutorial's steps, and the active model."""

import streamlit as st

from studio import state


def main():
    st.title("MNIST Studio")
    st.markdown(
        "MNIST is 70,000 handwritten digits, each a 28×28 grey picture with its label — the "
        "\"hello world\" of deep learning. This studio walks through the classic Keras tutorial: a "
        "two-layer network that reads these digits with about 98% accuracy after ten seconds of "
        "training. Every step runs for real, right here.")
    steps = [
        ("app_pages/explore.py", ":material/grid_view:", "1 · Explore the data",
         "60,000 training and 10,000 test images as uint8 arrays: samples, pixels, class counts, "
         "the average of each digit."),
        ("app_pages/train.py", ":material/model_training:", "2 · Build and train",
         "The tutorial's Dense(512) → Dense(10) network, or a convnet. Watch loss and accuracy "
         "update live; stop any time."),
        ("app_pages/evaluate.py", ":material/fact_check:", "3 · Evaluate",
         "Test accuracy, the confusion matrix, per-digit precision and recall, the model's most "
         "confident mistakes."),
        ("app_pages/predict.py", ":material/draw:", "4 · Predict",
         "Draw a digit and see what the model reads, step by step through MNIST's own "
         "preprocessing."),
    ]
    columns = st.columns(4)
    for column, (page, icon, title, text) in zip(columns, steps):
        with column.container(border=True, height="stretch"):
            st.page_link(page, label=title, icon=icon)
            st.caption(text)

    entry = state.studio().active()
    st.subheader("Active model")
    if entry is None:
        st.info("There is no model yet. Train one on the Train page.")
    else:
        accuracy = entry.test_accuracy
        cols = st.columns(2)
        cols[0].metric("Model", entry.name, help=f"From: {entry.source}")
        cols[1].metric("Test accuracy", f"{accuracy:.2%}" if accuracy is not None else "—")
        how = entry.metadata.get("source")
        st.caption(f"{entry.source.capitalize()}" + (f"; {how}." if how and how != entry.source else "."))


main()
