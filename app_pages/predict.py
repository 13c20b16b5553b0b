"""Step 4: draw a digit (or pick or upload one) and see what the model reads, and why."""

import numpy as np
import pandas as pd
import streamlit as st

from studio import charts, state, urls

with st.spinner("Loading TensorFlow…"):
    from mnist_core.predict import Reading
    from mnist_core.preprocess import (MAX_UPLOAD_BYTES, EmptyDrawingError, ImageFileError,
                                       canvas_to_mnist_steps, image_from_bytes, to_model_input)

SOURCES = {"draw": "Draw", "test": "Test image", "upload": "Upload a photo"}
CANVAS_SIZE = 280


def source_ui() -> str:
    default = "test" if "index" in st.query_params else "draw"
    urls.seed_widget("predict_source", urls.read_choice("source", default, list(SOURCES)))
    source = st.segmented_control("Input", list(SOURCES), format_func=SOURCES.get,
                                  key="predict_source", required=True)
    urls.write(source=source)
    return source


def draw_ui():
    """The canvas; returns its RGBA pixels, or None before anything is drawn."""
    from streamlit_drawable_canvas import st_canvas   # only inside a running app (see README)
    st.caption("Draw one digit, large, in the middle. Undo, redo and clear are in the canvas toolbar.")
    # Wider strokes than this make heavier digits than MNIST ever has (see MNIST_INK_RANGE).
    width = st.slider("Stroke width", 8, 32, 20, key="predict_stroke")
    result = st_canvas(stroke_width=width, stroke_color="#1e1b4b", background_color="",
                       height=CANVAS_SIZE, width=CANVAS_SIZE, drawing_mode="freedraw",
                       return_image_data=True, key="predict_canvas")
    return result.image_data if result is not None else None


def test_image_ui():
    data = state.get_data()
    if data is None:
        st.warning("The test images need MNIST, which is not available here. " +
                   (state.data_problem() or "") + " You can still draw or upload a digit.")
        return None, None
    urls.seed_widget("predict_index", urls.read_int("index", 1, 0, len(data.x_test) - 1))
    index = st.number_input(f"Test image index (0–{len(data.x_test) - 1})", 0, len(data.x_test) - 1,
                            key="predict_index")
    urls.write(index=index)
    return data.x_test[int(index)], int(data.y_test[int(index)])


def upload_ui():
    upload = st.file_uploader("A photo or scan of one digit", key="predict_upload",
                              type=["png", "jpg", "jpeg", "gif", "bmp", "webp"],
                              max_upload_size=MAX_UPLOAD_BYTES // 2**20)
    if upload is None:
        return None
    try:
        return image_from_bytes(upload.getvalue())
    except ImageFileError as exc:
        st.error(str(exc))
        return None


def reading_ui(reading: Reading, label: int | None):
    if reading.sure:
        st.metric("Prediction", reading.digit, help="the digit with the highest probability (argmax)")
        st.caption(f"Confidence {reading.confidence:.1%}" +
                   ("" if label is None else f" · the label says {label}"))
    else:
        st.metric("Prediction", "?", help="the model won't name a digit it is unsure of")
        st.warning(reading.problem)
        if label is not None:
            st.caption(f"The label says {label}.")
    frame = pd.DataFrame({"digit": range(10), "probability": reading.probabilities,
                          "top": np.arange(10) == reading.digit})
    charts.bar_chart(frame, x="digit", y="probability", highlight="top", y_format="%", height=200)


def inspector_ui(steps, predictor):
    with st.expander("How the drawing becomes a 28×28 digit", expanded=False):
        st.caption("MNIST's own preprocessing: crop to the ink, scale the longer side to 20 px, then "
                   "centre by the centre of mass in 28×28. Squashing the whole canvas to 28×28 instead "
                   "gives the model a digit unlike any it was trained on.")
        top, bottom, left, right = steps.bbox
        cols = st.columns(5)
        stages = [("your input", steps.ink), (f"cropped {right - left}×{bottom - top}", steps.cropped),
                  (f"scaled to {steps.scaled.shape[1]}×{steps.scaled.shape[0]}", steps.scaled),
                  ("centred 28×28", steps.centred), ("plain resize 28×28", steps.plain_resize)]
        for column, (caption, image) in zip(cols, stages):
            scale = max(1, 140 // max(image.shape))
            column.image(charts.digit(image, scale), caption=caption, width=140)
        centred, plain = predictor.predict_proba(np.stack([steps.centred, steps.plain_resize]))
        a, b = st.columns(2)
        a.metric("With MNIST's preprocessing", int(centred.argmax()), f"{centred.max():.0%} sure",
                 delta_color="off")
        b.metric("With a plain resize", int(plain.argmax()), f"{plain.max():.0%} sure", delta_color="off")


def main():
    st.title("Predict")
    entry = state.studio().active()
    if entry is None:
        st.error("There is no model: the bundled default model is missing and none was trained yet. "
                 "Train one on the Train page.")
        return
    _, predictor = state.loaded(entry)
    source = source_ui()
    left, right = st.columns([3, 2], gap="large")
    label, steps, model_image = None, None, None
    with left:
        if source == "draw":
            picture = draw_ui()
        elif source == "test":
            picture, label = test_image_ui()
        else:
            picture = upload_ui()
    with right:
        if picture is None:
            st.info("Waiting for a digit…" if source != "test" else "Choose a test image.")
            return
        try:
            if source == "test":        # MNIST images are already prepared: use them as they are
                model_image = to_model_input(picture)
            else:
                steps = canvas_to_mnist_steps(picture)
                model_image = steps.centred
        except EmptyDrawingError:
            st.info("The canvas is empty: draw a digit." if source == "draw"
                    else "There is no digit in this picture (it is blank).")
            return
        except ValueError as exc:
            st.error(f"This picture can't be read: {exc}")
            return
        reading = Reading(predictor.predict_proba(model_image)[0], model_image)
        reading_ui(reading, label)
        st.image(charts.digit(model_image, 5), caption="what the model sees (28×28)", width=140)
    if steps is not None:
        inspector_ui(steps, predictor)
    st.caption(f"Model: {entry.name}")


main()
