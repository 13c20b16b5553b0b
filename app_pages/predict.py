"""Step 4: draw a digit (or pick or upload one) and see what the model reads, and why."""

import numpy as np
import pandas as pd
import streamlit as st

from studio import charts, state, urls
from studio.i18n import labels_in_this_language, t
from studio.sidebar import model_banner_ui

with st.spinner(t("tf.loading")):
    from mnist_core.canvas import CANVAS, STROKE_WIDTHS
    from mnist_core.predict import Reading
    from mnist_core.preprocess import (MAX_UPLOAD_BYTES, EmptyDrawingError,
                                       ImageFileError, canvas_to_mnist_steps, image_from_bytes,
                                       to_model_input)

SOURCES = ("draw", "test", "upload")


def source_ui() -> str:
    default = "test" if "index" in st.query_params else "draw"
    urls.seed_widget("predict_source", urls.read_choice("source", default, SOURCES))
    source = st.segmented_control(t("predict.input"), SOURCES, format_func=labels_in_this_language("predict.source.{}"),
                                  key="predict_source", required=True)
    urls.write(source=source)
    return source


def draw_ui():
    """The canvas; returns its RGBA pixels, or None before anything is drawn."""
    from streamlit_drawable_canvas import st_canvas   # only inside a running app (see README)
    st.caption(t("predict.draw.caption"))
    slider, clear = st.columns([3, 1], vertical_alignment="bottom")
    width = slider.slider(t("predict.stroke"), *STROKE_WIDTHS, 20, key="predict_stroke")
    # A full-size Clear for fingers (the canvas' own toolbar icons are 22 px): a new key, a new canvas.
    if clear.button(t("predict.clear"), icon=":material/ink_eraser:", width="stretch"):
        st.session_state["predict_canvas_number"] = st.session_state.get("predict_canvas_number", 0) + 1
    result = st_canvas(stroke_width=width, stroke_color="#1e1b4b", background_color="",
                       height=CANVAS, width=CANVAS, drawing_mode="freedraw",
                       return_image_data=True,
                       key=f"predict_canvas_{st.session_state.get('predict_canvas_number', 0)}")
    return result.image_data if result is not None else None


def test_image_ui():
    data = state.get_data()
    if data is None:
        st.warning(t("predict.no_test_images"))
        return None, None
    urls.seed_widget("predict_index", urls.read_int("index", 1, 0, len(data.x_test) - 1))
    index = st.number_input(t("predict.test_index", last=len(data.x_test) - 1), 0, len(data.x_test) - 1,
                            key="predict_index")
    urls.write(index=index)
    return data.x_test[int(index)], int(data.y_test[int(index)])


def upload_ui():
    refused = st.session_state.pop("predict_upload_error", None)
    if refused:
        st.error(refused)
    # A new key after a refusal empties the uploader: the refused file's chip doesn't linger.
    attempt = st.session_state.setdefault("predict_upload_attempt", 0)
    upload = st.file_uploader(t("predict.upload.label"), key=f"predict_upload_{attempt}",
                              type=["png", "jpg", "jpeg", "gif", "bmp", "webp"],
                              max_upload_size=MAX_UPLOAD_BYTES // 2**20)
    if upload is None:
        return None
    try:
        picture = image_from_bytes(upload.getvalue())
    except ImageFileError as exc:
        st.session_state["predict_upload_error"] = t(f"image_file.{exc.code}", **exc.values)
        st.session_state["predict_upload_attempt"] = attempt + 1
        st.rerun()
    st.image(picture, caption=t("predict.upload.yours"), width=CANVAS)
    return picture


def answer_ui(reading: Reading, label: int | None):
    """The answer, compact: it sits above the input, so a phone shows it right after drawing."""
    if reading.sure:
        st.metric(t("predict.prediction"), reading.digit, help=t("predict.prediction.help"))
        st.caption(t("predict.confidence", confidence=f"{reading.confidence:.1%}") +
                   ("" if label is None else " · " + t("predict.label_says", label=label)))
    else:
        st.metric(t("predict.prediction"), "?", help=t("predict.withheld.help"))
        st.warning(t(f"reading.{reading.problem.code}", **reading.problem.values))
        hint = ", ".join(f"{digit} ({p:.0%})" for digit, p in reading.top3)
        st.caption(t("predict.top3", hint=hint) +
                   ("" if label is None else " · " + t("predict.label_says", label=label)))


def probabilities_ui(reading: Reading):
    frame = pd.DataFrame({"digit": range(10), "probability": reading.probabilities,
                          "top": np.arange(10) == reading.guess})
    charts.bar_chart(frame, x="digit", y="probability", highlight="top", y_format="%", height=200)


def compare_ui(model_image, active_key: str) -> None:
    """What each bundled model reads in the same image, side by side (the active one marked)."""
    st.markdown("**" + t("predict.compare") + "**")
    columns = st.columns(len(state.BUNDLED))
    for column, entry in zip(columns, state.bundled_entries()):
        _, predictor = state.loaded(entry)
        reading = predictor.read(model_image)
        answer = str(reading.digit) if reading.digit is not None else "?"
        column.metric(entry.name + (" ✓" if entry.key == active_key else ""), answer)
        column.caption(t("predict.sure", p=f"{reading.confidence:.0%}"))


def inspector_ui(steps, predictor):
    with st.expander(t("predict.inspector.title"), expanded=False):
        st.caption(t("predict.inspector.caption"))
        top, bottom, left, right = steps.bbox
        cols = st.columns(6)
        stages = [(t("predict.stage.input"), steps.ink),
                  (t("predict.stage.cropped", w=right - left, h=bottom - top), steps.cropped),
                  (t("predict.stage.centre_line"), steps.centre_line.astype(np.float32)),
                  (t("predict.stage.scaled", w=steps.scaled.shape[1], h=steps.scaled.shape[0]), steps.scaled),
                  (t("predict.stage.centred"), steps.centred), (t("predict.stage.plain"), steps.plain_resize)]
        for column, (caption, image) in zip(cols, stages):
            scale = max(1, 120 // max(image.shape))
            column.image(charts.digit(image, scale), caption=caption, width=120)
        centred, plain = predictor.predict_proba(np.stack([steps.centred, steps.plain_resize]))
        a, b = st.columns(2)
        for column, name, probabilities in ((a, "predict.with_mnist", centred), (b, "predict.with_plain", plain)):
            column.metric(t(name), int(probabilities.argmax()))
            column.caption(t("predict.sure", p=f"{probabilities.max():.0%}"))


def main():
    st.title(t("predict.title"))
    entry = state.studio().active()
    if entry is None:
        st.error(t("predict.no_model"))
        return
    model_banner_ui(entry)
    model, predictor = state.loaded(entry)
    source = source_ui()
    left, right = st.columns([3, 2], gap="large")
    label, steps, model_image = None, None, None
    with left:
        answer = st.container()     # filled below, drawn above the input
        if source == "draw":
            picture = draw_ui()
        elif source == "test":
            picture, label = test_image_ui()
        else:
            picture = upload_ui()
    with answer:
        if picture is None:
            st.info(t("predict.waiting_test" if source == "test" else "predict.waiting"))
            return
        try:
            if source == "test":        # MNIST images are already prepared: use them as they are
                model_image = to_model_input(picture)
            else:
                steps = canvas_to_mnist_steps(picture)
                model_image = steps.centred
        except EmptyDrawingError:
            st.info(t("predict.empty_canvas" if source == "draw" else "predict.empty_picture"))
            return
        except ValueError:          # a code's message only: the library's English stays out of the page
            st.error(t("predict.unreadable"))
            return
        reading = predictor.read(model_image, photo=source == "upload")
        answer_ui(reading, label)
        if source != "test":
            from studio.teach import teach_ui
            teach_ui(entry, model_image, reading)
    with right:
        probabilities_ui(reading)
        st.image(charts.digit(model_image, 5), caption=t("predict.model_sees"), width=140)
        compare_ui(model_image, entry.key)
    if steps is not None:
        inspector_ui(steps, predictor)
    from studio.inside import inside_ui
    inside_ui(entry, model, model_image, reading.guess)

main()
