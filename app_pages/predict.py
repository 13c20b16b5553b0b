"""Step 4: draw a digit (or pick or upload one) and see what the model reads, and why.

Everything below the title is one fragment: a drawing reruns it, not the whole app; the parts that
cost (compare, the preprocessing steps, the Inside view) are fragments of their own, computed only
when open. What a drawing shows is computed once per drawing (studio.predict.reading).
"""

import streamlit as st

from mnist_core.drawings.canvas import CANVAS, STROKE_WIDTHS
from mnist_core.preprocess import MAX_UPLOAD_BYTES, EmptyDrawingError, ImageFileError, image_from_bytes
from studio.predict import reading
from studio.session.dataset import get_data
from studio.session.models import session_studio
from studio.ui import urls
from studio.ui.i18n import labels_in_this_language, t
from studio.ui.sidebar import model_banner_ui

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
    # The brush and a full-size Clear for fingers (the canvas' own toolbar icons are 22 px) in one
    # row above the canvas, which keeps its place: a new key, a new canvas.
    with st.container(horizontal=True, vertical_alignment="bottom", key="predict_tools"):
        width = st.slider(t("predict.stroke"), *STROKE_WIDTHS, 20, key="predict_stroke", width=200)
        if st.button(t("predict.clear"), icon=":material/ink_eraser:"):
            st.session_state["predict_canvas_number"] = st.session_state.get("predict_canvas_number", 0) + 1
    result = st_canvas(stroke_width=width, stroke_color="#1e1b4b", background_color="",
                       height=CANVAS, width=CANVAS, drawing_mode="freedraw",
                       return_image_data=True,
                       key=f"predict_canvas_{st.session_state.get('predict_canvas_number', 0)}")
    return (result.image_data, result.json_data) if result is not None else (None, None)


def test_image_ui():
    data = get_data()
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
    st.image(picture, caption=t("predict.upload.yours"), width=CANVAS, alt=t("predict.upload.yours"))
    return picture


@st.fragment
def drawing_ui() -> None:
    studio = session_studio()
    entry, fresh = reading.answering(studio)
    if entry is None:
        st.error(t("predict.no_model"))
        return
    model_banner_ui(entry)
    if fresh:
        reading.keep_link_fresh()
    source = source_ui()
    # The input on the left and the answer on its right; on a phone the answer comes right under
    # the canvas. Nothing above the canvas changes from one stroke to the next, so the canvas never
    # moves under the pen (tests/browser/test_strokes.py).
    left, right = st.columns([2, 3], gap="small")
    label = None
    with left:
        strokes = None               # the canvas' json_data: the pen's strokes, read with the image
        if source == "draw":
            picture, strokes = draw_ui()
        elif source == "test":
            picture, label = test_image_ui()
        else:
            picture = upload_ui()
    with right:
        if picture is None:
            st.info(t("predict.waiting_test" if source == "test" else "predict.waiting"))
            if source == "draw":
                st.caption(t("predict.draw.caption"))
            return
        try:
            current, said = reading.seen(picture, entry, source=source, json_data=strokes)
        except EmptyDrawingError:
            st.info(t("predict.empty_canvas" if source == "draw" else "predict.empty_picture"))
            return
        except ValueError:          # a code's message only (CanvasDataError too): the library's English stays out of the page
            st.error(t("predict.unreadable"))
            return
        if fresh:
            ours, theirs = st.columns(2)
            with ours:
                reading.answer_ui(said, label)
            with theirs:
                reading.beside_ui(current)
        else:
            reading.answer_ui(said, label)
        reading.withheld_ui(said)
        if fresh:
            reading.beside_note_ui(current, said)
        reading.probabilities_ui(said)
        reading.picture_ui(current, said)
        if source != "test":
            from studio.predict.teach import teach_ui
            teach_ui(entry, current.model_image, said)
    # The views that cost, below the answer: each a fragment of its own, called at the outer
    # fragment's top level (a fragment call copies the container stack it is called in).
    reading.compare_ui(current, entry.key)
    if current.steps is not None:
        reading.inspector_ui(current, entry)
    reading.inside_ui(current, entry, said.guess)


st.title(t("predict.title"))
drawing_ui()
