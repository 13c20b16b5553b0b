"""What a drawing shows on Predict: the model that answers, the answer and what hangs off it.

A drawing is read once: its 28x28, the reading and the picture of it are kept in the session under
the drawing's bytes, so a rerun that does not change the drawing (the stroke slider, an expander,
Teach it) recomputes nothing. The comparison and the preprocessing steps compute only when their
expander is open.
"""

from __future__ import annotations

import hashlib
import io
import weakref
from dataclasses import dataclass, field

import numpy as np
import streamlit as st

from studio.ui import charts
from studio.session.bundled import BUNDLED, DEFAULT_KEY
from studio.session.models import SessionModel, Studio, bundled_entries, bundled_entry, loaded
from studio.ui.i18n import t

FRESH_READER = "best"            # a fresh link's Predict answers with the best reader ...
BESIDE = DEFAULT_KEY              # ... and shows the note's network's answer beside it
CHOSEN_KEY = "model_chosen"      # set when the learner picks a model (Train's choice)
PICTURE_SCALE = 5                # the 28x28 the model sees, drawn 140 px wide


def answering(studio: Studio) -> tuple[SessionModel | None, bool]:
    """The model that answers on Predict, and whether it is a fresh link's best reader.

    Before the learner trains, uploads, teaches or picks a model, the best reader answers here
    (the other pages keep the note's network, the model of the tutorial's story)."""
    fresh = (studio.active_key == DEFAULT_KEY and not studio.models
             and not st.session_state.get(CHOSEN_KEY) and BUNDLED[FRESH_READER].exists())
    if fresh:
        return bundled(FRESH_READER), True
    return studio.active(), False


_metadata: dict = {}     # the bundled files' metadata, read once (the session's cache hands out copies)


def bundled(key: str) -> SessionModel:
    if key not in _metadata:
        _metadata[key] = bundled_entry(key).metadata
    return SessionModel(key, t(f"bundled.{key}"), "bundled", _metadata[key])


def note_link_choice() -> None:
    """A link that names a model (?model=tutorial) has chosen it: read on the session's first run.
    (Later runs carry the model the app writes into the address, which is no choice.)"""
    if "predict_link_read" not in st.session_state:
        st.session_state["predict_link_read"] = True
        if "model" in st.query_params:
            st.session_state[CHOSEN_KEY] = True


def keep_link_fresh() -> None:
    """On a fresh link's Predict the address names no model, so a link copied from it stays fresh."""
    if "model" in st.query_params:
        del st.query_params["model"]


def digest(picture: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(picture).tobytes() + str(picture.shape).encode(),
                           digest_size=16).hexdigest()


@dataclass
class Seen:
    """One drawing, as the model sees it; readings by model key, computed when first asked (the
    answering model's reading comes from `seen`, the others read the same 28x28)."""
    key: str
    model_image: np.ndarray
    steps: object = None              # the preprocessing steps (drawings and photos, not test images)
    readings: dict = field(default_factory=dict)
    png: bytes | None = None

    def reading(self, entry: SessionModel, photo: bool = False):
        # By the Predictor that reads, not the entry's key: each "Teach it" lesson's model is a new
        # entry (with its own Predictor) under the same key and must not be shown the previous
        # lesson's answer, while a bundled model's entry is made anew on every run but reads with
        # the server's one Predictor (whose first reading may have joined the pen reader's).
        reader = predictor(entry)
        cached = self.readings.get((entry.key, photo))
        if cached is None or cached[0]() is not reader:
            cached = (weakref.ref(reader), reader.read(self.model_image, photo=photo))
            self.readings[entry.key, photo] = cached
        return cached[1]

    def picture(self) -> bytes:
        """The 28x28, upscaled with hard edges, as PNG (encoded once per drawing)."""
        if self.png is None:
            from PIL import Image
            buffer = io.BytesIO()
            Image.fromarray(charts.digit(self.model_image, PICTURE_SCALE)).save(buffer, "PNG")
            self.png = buffer.getvalue()
        return self.png


_bundled_predictors: dict = {}     # the server's bundled Predictors, as `loaded` gives them


def predictor(entry: SessionModel):
    """The entry's Predictor; a bundled one without `loaded`'s spinner (a timer thread a
    call) once it is loaded: a drawing asks for two."""
    if entry.kind != "bundled":
        return loaded(entry)[1]
    if entry.key not in _bundled_predictors:
        _bundled_predictors[entry.key] = loaded(entry)[1]
    return _bundled_predictors[entry.key]


def pen_for(entry: SessionModel):
    """The pen reader joins the bundled best reader only: how the two combine was chosen with it."""
    from studio.session import bundled as shipped
    return shipped.pen() if entry.kind == "bundled" and entry.key == FRESH_READER else None


def seen(picture: np.ndarray, entry: SessionModel, *, source: str, json_data=None) -> tuple[Seen, object]:
    """The session's Seen for this picture (the last one is kept) and `entry`'s reading of it. A test
    image ("test") is MNIST's already; a drawing ("draw") is read by mnist_core.predict.read_canvas with
    its strokes (`json_data`), an upload as a photo. Raises EmptyDrawingError / ValueError."""
    import json

    from mnist_core.predict import read_canvas
    from mnist_core.preprocess import to_model_input
    strokes = json.dumps(json_data, sort_keys=True, default=str) if source == "draw" and json_data else ""
    key = digest(picture) + source + hashlib.blake2b(strokes.encode(), digest_size=8).hexdigest()
    photo = source == "upload"
    last = st.session_state.get("predict_seen")
    if last is None or last.key != key:
        if source == "test":
            last = Seen(key, to_model_input(picture))
        else:
            reader = predictor(entry)
            said = read_canvas(picture, json_data if source == "draw" else None, reader, pen_for(entry),
                               photo=photo)
            last = Seen(key, said.image, said.steps)
            last.readings[entry.key, photo] = (weakref.ref(reader), said)   # as Seen.reading keeps it
        st.session_state["predict_seen"] = last
    return last, last.reading(entry, photo=photo)


def shown(reading) -> str:
    return str(reading.digit) if reading.digit is not None else "?"


def answer_ui(reading, label: int | None) -> None:
    """The answer, compact: a metric and a short caption, beside the canvas (right under it on a
    phone, where it must fit the first screen). Why an answer is withheld comes next (withheld_ui)."""
    says = "" if label is None else " · " + t("predict.label_says", label=label)
    if reading.sure:
        st.metric(t("predict.prediction"), reading.digit, help=t("predict.prediction.help"))
        st.caption(t("predict.confidence", confidence=f"{reading.confidence:.1%}") + says)
    else:
        st.metric(t("predict.prediction"), "?", help=t("predict.withheld.help"))
        hint = ", ".join(f"{digit} ({p:.0%})" for digit, p in reading.top3)
        st.caption(t("predict.top3", hint=hint) + says)


def withheld_ui(reading) -> None:
    """Why the answer is withheld (below the input: its length varies with the reason)."""
    if not reading.sure:
        st.warning(t(f"reading.{reading.problem.code}", **reading.problem.values))


def beside_ui(current: Seen) -> None:
    """A fresh link: the note's network's answer beside the best reader's (the metric only)."""
    other = current.reading(bundled(BESIDE))
    st.metric(t("predict.beside", name=t(f"bundled.{BESIDE}")), shown(other),
              help=t("predict.sure", p=f"{other.confidence:.0%}"))


def beside_note_ui(current: Seen, reading) -> None:
    """Below the input on a fresh link: one line when the two differ, and what a fresh link is."""
    other = current.reading(bundled(BESIDE))
    if other.digit != reading.digit:
        st.caption(t("predict.beside.differ", theirs=shown(other), ours=shown(reading)))
    st.caption(t("predict.fresh"))


def probabilities_ui(reading) -> None:
    charts.probabilities(reading.probabilities, reading.guess, height=200)
    if reading.readers:     # the best reader read the picture and the pen's strokes: one answer from two
        image, pen = (reading.readers[name] for name in ("image", "pen"))
        st.caption(t("predict.two_readers", image=int(image.argmax()), image_p=f"{image.max():.0%}",
                     pen=int(pen.argmax()), pen_p=f"{pen.max():.0%}"))


def picture_ui(current: Seen, reading) -> None:
    st.image(current.picture(), caption=t("predict.model_sees"), width=28 * PICTURE_SCALE,
             alt=t("predict.model_sees.alt", digit=shown(reading)))


@st.fragment
def compare_ui(current: Seen, answering_key: str) -> None:
    """What each bundled model reads in the same image, side by side (the answering one marked)."""
    with st.expander(t("predict.compare"), key="predict_compare_open", on_change="rerun") as box:
        if not box.open:
            return
        columns = st.columns(len(BUNDLED))
        for column, entry in zip(columns, bundled_entries()):
            reading = current.reading(entry)
            column.metric(entry.name + (" ✓" if entry.key == answering_key else ""), shown(reading))
            column.caption(t("predict.sure", p=f"{reading.confidence:.0%}"))


@st.fragment
def inspector_ui(current: Seen, entry: SessionModel) -> None:
    """MNIST's preprocessing step by step, beside a plain resize (drawings and photos only)."""
    with st.expander(t("predict.inspector.title"), key="predict_inspector_open", on_change="rerun") as box:
        if not box.open:
            return
        steps = current.steps
        st.caption(t("predict.inspector.caption"))
        top, bottom, left, right = steps.bbox
        stages = [(t("predict.stage.input"), steps.ink),
                  (t("predict.stage.cropped", w=right - left, h=bottom - top), steps.cropped),
                  (t("predict.stage.centre_line"), steps.centre_line.astype(np.float32)),
                  (t("predict.stage.scaled", w=steps.scaled.shape[1], h=steps.scaled.shape[0]), steps.scaled),
                  (t("predict.stage.centred"), steps.centred), (t("predict.stage.plain"), steps.plain_resize)]
        for column, (caption, image) in zip(st.columns(len(stages)), stages):
            column.image(charts.digit(image, max(1, 120 // max(image.shape))), caption=caption, width=120,
                         alt=caption)
        centred, plain = predictor(entry).predict_proba(np.stack([steps.centred, steps.plain_resize]))
        for column, name, probabilities in zip(st.columns(2), ("predict.with_mnist", "predict.with_plain"),
                                               (centred, plain)):
            column.metric(t(name), int(probabilities.argmax()))
            column.caption(t("predict.sure", p=f"{probabilities.max():.0%}"))


@st.fragment
def inside_ui(current: Seen, entry: SessionModel, guess: int) -> None:
    """The Inside view in its own fragment: its controls rerun it alone, not the drawing."""
    from .inside import inside_ui as draw_inside
    draw_inside(entry, current.model_image, guess)
