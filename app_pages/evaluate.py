"""Step 3: how good is the active model on the 10,000 test digits it never saw?"""

import pandas as pd
import streamlit as st

from studio.ui import charts, figures, urls
from studio.session.dataset import require_data
from studio.session.models import evaluation_report, session_studio
from studio.train.downloads import download_figure_ui
from studio.ui.i18n import t
from studio.ui.sidebar import model_banner_ui

with st.spinner(t("tf.loading")):
    import mnist_core.evaluation  # noqa: F401  (TensorFlow, under a spinner)

GALLERY = 24


def headline_ui(report):
    cols = st.columns(3)
    cols[0].metric(t("evaluate.accuracy"), f"{report.accuracy:.2%}")
    cols[1].metric(t("evaluate.loss"), f"{report.loss:.4f}")
    cols[2].metric(t("evaluate.mistakes"), t("evaluate.mistakes.value", count=f"{len(report.mistakes):,}"))
    st.code(f"test_loss, test_acc = model.evaluate(test_images, test_labels)\n"
            f"# test_acc: {report.accuracy:.4f}", language="python")


def tutorial_step_ui(report, data):
    st.header(t("evaluate.last_step"))
    probabilities = report.probabilities[1]
    left, right = st.columns([1, 3])
    left.image(charts.digit(data.x_test[1], 4), width=112, alt=charts.digit_alt(data.y_test[1]))
    with right:
        digit = int(probabilities.argmax())
        st.markdown(t("evaluate.argmax", digit=digit, p=f"{probabilities[digit]:.4f}", label=data.y_test[1]))
        named = [i for i in range(10) if probabilities[i] == 1]   # the note's own loop
        st.caption(t("evaluate.equals_one_found" if named else "evaluate.equals_one_nothing",
                     p=f"{probabilities[digit]:.9f}"))


def confusion_ui(report, data, entry):
    st.header(t("evaluate.confusion"))
    st.caption(t("evaluate.confusion.caption"))
    left, right = st.columns([3, 2])
    with left:
        picked = charts.heatmap(report.confusion, row="true", column="predicted", value="images",
                                key="confusion", selectable=True)
        download_figure_ui(lambda: figures.confusion_matrix(
            report.confusion, t("figure.confusion_title", name=entry.name)), "confusion-matrix")
    urls.seed_widget("eval_true", urls.read_int("true", 4, 0, 9))
    urls.seed_widget("eval_pred", urls.read_int("pred", 9, 0, 9))
    if picked:
        st.session_state["eval_true"], st.session_state["eval_pred"] = int(picked["true"]), int(picked["predicted"])
    with right:
        a, b = st.columns(2)
        true_digit = a.selectbox(t("evaluate.true_digit"), range(10), key="eval_true")
        predicted = b.selectbox(t("evaluate.predicted"), range(10), key="eval_pred")
        urls.write(true=true_digit, pred=predicted)
        cell = report.cell(true_digit, predicted, data.y_test)
        st.markdown(t("evaluate.cell", count=len(cell), true=true_digit, predicted=predicted))
        shown = cell[:GALLERY]
        charts.digit_row(data.x_test[shown], [f"#{i} ({report.probabilities[i, predicted]:.0%})" for i in shown],
                         [charts.digit_alt(true_digit, predicted) for _ in shown], scale=2)


def per_class_ui(report):
    st.header(t("evaluate.per_digit"))
    low = 0.9 if min(report.precision.min(), report.recall.min()) >= 0.9 else 0.0
    frame = pd.DataFrame({t("col.digit"): range(10), t("col.precision"): report.precision,
                          t("col.recall"): report.recall, "F1": report.f1,
                          t("col.test_images"): report.confusion.sum(axis=1)})
    st.dataframe(frame, hide_index=True, width="stretch", column_config={
        name: st.column_config.ProgressColumn(name, format="percent", min_value=low, max_value=1.0)
        for name in (t("col.precision"), t("col.recall"), "F1")})
    st.caption(t("evaluate.per_digit.caption", low=f"{low:.0%}"))


def mistakes_ui(report, data):
    st.header(t("evaluate.worst"))
    shown = report.mistakes[:GALLERY]
    captions = [f"#{i}: {data.y_test[i]} → {report.predictions[i]} "
                f"({report.probabilities[i, report.predictions[i]]:.0%})" for i in shown]
    st.caption(t("evaluate.worst.caption"))
    charts.digit_row(data.x_test[shown], captions,
                     [charts.digit_alt(data.y_test[i], report.predictions[i]) for i in shown], scale=3, width=110)
    if len(shown):
        pick, go = st.columns([2, 1], vertical_alignment="bottom")
        chosen = pick.selectbox(t("evaluate.look_inside.pick"), shown.tolist(), key="eval_inside",
                                format_func=lambda i: f"#{i}: {data.y_test[i]} → {report.predictions[i]}")
        if go.button(t("evaluate.look_inside"), icon=":material/neurology:"):
            from studio.predict.inside import open_test_image
            open_test_image(chosen)
            st.switch_page("app_pages/predict.py", query_params={"source": "test", "index": chosen})


def main():
    st.title(t("evaluate.title"))
    data = require_data()
    entry = session_studio().active()
    if entry is None:
        st.info(t("evaluate.no_model"))
        return
    model_banner_ui(entry)
    with st.spinner(t("evaluate.computing")):
        report = evaluation_report(entry, data)
    headline_ui(report)
    tutorial_step_ui(report, data)
    confusion_ui(report, data, entry)
    per_class_ui(report)
    mistakes_ui(report, data)


main()
