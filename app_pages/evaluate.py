"""Step 3: how good is the active model on the 10,000 test digits it never saw?"""

import pandas as pd
import streamlit as st

from studio import charts, state, urls

with st.spinner("Loading TensorFlow…"):
    from mnist_core.evaluation import evaluate
    from mnist_core.predict import top_k

GALLERY = 24


def report_for(entry, data):
    """The test-set evaluation of a model, computed once per model and session."""
    if entry.key == state.DEFAULT_KEY:
        return default_report()
    if entry.report is None:
        model, predictor = state.loaded(entry)
        entry.report = evaluate(model, data.x_test, data.y_test, predictor=predictor)
    return entry.report


@st.cache_resource(show_spinner="Evaluating the default model on 10,000 digits…")
def default_report():
    model, predictor = state.loaded(state.default_entry())
    data = state.get_data()
    return evaluate(model, data.x_test, data.y_test, predictor=predictor)


def headline_ui(report, entry):
    cols = st.columns(3)
    cols[0].metric("Test accuracy", f"{report.accuracy:.2%}")
    cols[1].metric("Test loss", f"{report.loss:.4f}")
    cols[2].metric("Mistakes", f"{len(report.mistakes):,} of 10,000")
    st.code(f"test_loss, test_acc = model.evaluate(test_images, test_labels)\n"
            f"# test_acc: {report.accuracy:.4f}   ({entry.name})", language="python")


def tutorial_step_ui(report, data):
    st.subheader("The tutorial's last step: test image 1")
    probabilities = report.probabilities[1]
    left, right = st.columns([1, 3])
    left.image(charts.digit(data.x_test[1], 4), width=112)
    with right:
        digit = int(probabilities.argmax())
        st.markdown(f"`predictions[1].argmax()` = **{digit}** with probability "
                    f"{probabilities[digit]:.4f}; the label is **{data.y_test[1]}**.")
        st.caption("Read the answer with argmax. The tutorial compared a probability with exactly 1, "
                   f"which fails here: {probabilities[digit]:.6f} ≠ 1.")


def confusion_ui(report, data):
    st.subheader("Confusion matrix")
    st.caption("Rows are the true digit, columns what the model said. Click a cell to see its images.")
    left, right = st.columns([3, 2])
    with left:
        picked = charts.heatmap(report.confusion, row="true", column="predicted", value="images",
                                key="confusion", selectable=True)
    urls.seed_widget("eval_true", urls.read_int("true", 4, 0, 9))
    urls.seed_widget("eval_pred", urls.read_int("pred", 9, 0, 9))
    if picked:
        st.session_state["eval_true"], st.session_state["eval_pred"] = int(picked["true"]), int(picked["predicted"])
    with right:
        a, b = st.columns(2)
        true_digit = a.selectbox("True digit", range(10), key="eval_true")
        predicted = b.selectbox("Predicted", range(10), key="eval_pred")
        urls.write(true=true_digit, pred=predicted)
        cell = report.cell(true_digit, predicted, data.y_test)
        st.markdown(f"**{len(cell)}** test images are {true_digit}s read as {predicted}.")
        shown = cell[:GALLERY]
        charts.digit_row(data.x_test[shown], [f"#{i} ({report.probabilities[i, predicted]:.0%})"
                                              for i in shown], scale=2)


def per_class_ui(report):
    st.subheader("Per digit")
    frame = pd.DataFrame({"digit": range(10), "precision": report.precision, "recall": report.recall,
                          "F1": report.f1, "test images": report.confusion.sum(axis=1)})
    st.dataframe(frame, hide_index=True, width="stretch", column_config={
        name: st.column_config.ProgressColumn(name, format="percent", min_value=0.9, max_value=1.0)
        for name in ("precision", "recall", "F1")})
    st.caption("Precision: of the images the model called this digit, the share that were. Recall: "
               "of the images of this digit, the share it found.")


def mistakes_ui(report, data):
    st.subheader("The most confident mistakes")
    shown = report.mistakes[:GALLERY]
    captions = []
    for index in shown:
        top = top_k(report.probabilities[index], 3)
        captions.append(f"#{index}: a {data.y_test[index]}, read as " +
                        ", ".join(f"{d} {p:.0%}" for d, p in top))
    st.caption("Each caption: the test image's index, its label, and the model's three likeliest "
               "digits with their probabilities.")
    charts.digit_row(data.x_test[shown], captions, scale=3, width=110)


def main():
    st.title("Evaluate")
    data = state.require_data()
    entry = state.studio().active()
    if entry is None:
        st.info("There is no model to evaluate yet: train one on the Train page.")
        return
    report = report_for(entry, data)
    headline_ui(report, entry)
    tutorial_step_ui(report, data)
    confusion_ui(report, data)
    per_class_ui(report)
    mistakes_ui(report, data)


main()
