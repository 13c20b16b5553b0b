"""A learner's drawing round for the class's own handwriting (issue #28): each digit once, in an
order shuffled for this learner, the digit to draw named above the canvas; Keep, Redo, Skip.

A drawing is kept as the canvas gave it (its json_data strokes and the 28x28 the models read) with
the digit the learner was asked for. A blank canvas is refused. When the best reader names no digit
(a scribble?), the drawing is shown once with "Keep it anyway" and "Redo": the learner said what it
is, so it can still be kept (marked withheld).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from mnist_core.drawings.canvas import CANVAS
from mnist_core.runstore import StoreError
from mnist_core.runstore.handwriting import Handwriting

from studio.session import bundled
from studio.ui import charts
from studio.ui.i18n import t
from . import identity, opening

ROUND = "hand_round"            # session state: {"order": [...], "at": int, "kept": int, "canvas": int}
PENDING = "hand_pending"
LIVE = "hand_live"              # the learner asked for the live view (after a round)        # a drawing the best reader withheld, waiting for "keep anyway" / "redo"


def new_round() -> dict:
    return {"order": [int(d) for d in np.random.default_rng().permutation(10)], "at": 0, "kept": 0, "canvas": 0}


def _next(step: dict, kept: bool) -> None:
    step["at"] += 1
    step["kept"] += int(kept)
    step["canvas"] += 1
    st.session_state.pop(PENDING, None)


def _keep(store, code: str, step: dict, label: int, model_image, strokes, withheld: bool) -> None:
    try:
        learner = identity.learner_id(create=True)
        Handwriting(store).add(learner, code, label, model_image, strokes, withheld=withheld)
    except StoreError as exc:        # a flood, a full set, closed drawing, a bad payload: said, nothing kept
        st.session_state["hand_refused"] = opening.error_text(exc)
        return
    _next(step, True)
    st.session_state["hand_kept_toast"] = True


def round_ui(store, code: str) -> None:
    """The round, in a fragment: a stroke reruns it alone."""
    step = st.session_state.setdefault(ROUND, new_round())
    if st.session_state.pop("hand_kept_toast", None):
        st.toast(t("hand.kept"), icon=":material/check:")
    refused = st.session_state.pop("hand_refused", None)
    if refused:
        st.error(refused)
    if step["at"] >= len(step["order"]):
        st.success(t("hand.round_done", kept=step["kept"]))
        if not st.session_state.get(LIVE) and st.button(t("hand.watch"), icon=":material/monitoring:"):
            st.session_state[LIVE] = True
            st.rerun()                    # the whole page: the view becomes live (studio.store.handwriting)
        if st.button(t("hand.again"), icon=":material/replay:"):
            st.session_state[ROUND] = new_round()
            st.rerun(scope="fragment")
        return
    label = step["order"][step["at"]]
    st.progress(step["at"] / len(step["order"]), text=t("hand.progress", at=step["at"] + 1, of=len(step["order"])))
    st.markdown(t("hand.ask", digit=label))
    pending = st.session_state.get(PENDING)
    if pending is not None and pending["label"] == label:
        withheld_ui(store, code, step, pending)
        return
    from streamlit_drawable_canvas import st_canvas     # only inside a running app
    result = st_canvas(stroke_width=20, stroke_color="#1e1b4b", background_color="", height=CANVAS,
                       width=CANVAS, drawing_mode="freedraw", return_image_data=True,
                       key=f"hand_canvas_{step['canvas']}")
    keep_button, redo, skip = st.columns(3)
    if redo.button(t("hand.redo"), icon=":material/ink_eraser:", width="stretch"):
        step["canvas"] += 1
        st.rerun(scope="fragment")
    if skip.button(t("hand.skip"), icon=":material/skip_next:", width="stretch"):
        _next(step, False)
        st.rerun(scope="fragment")
    if keep_button.button(t("hand.keep"), type="primary", icon=":material/check:", width="stretch"):
        read_and_keep(store, code, step, label, result)
        st.rerun(scope="fragment")


def read_and_keep(store, code: str, step: dict, label: int, result) -> None:
    """The canvas' value -> the 28x28, read by the best reader; kept, or held for the learner's say."""
    from mnist_core.predict import read_canvas
    from mnist_core.preprocess import EmptyDrawingError
    picture = None if result is None else result.image_data
    strokes = None if result is None else result.json_data
    try:
        if picture is None:
            raise EmptyDrawingError("nothing drawn")
        # Read as Predict reads a drawing: the best reader with the pen's trajectory.
        reading = read_canvas(picture, strokes, bundled.model(bundled.BEST_KEY)[1], bundled.pen())
    except EmptyDrawingError:
        st.session_state["hand_refused"] = t("store.error.blank")
        return
    except ValueError:          # not an image, or paths that are no canvas' (CanvasDataError)
        st.session_state["hand_refused"] = t("store.error.not_a_canvas")
        return
    model_image = reading.steps.centred
    if reading.sure:
        _keep(store, code, step, label, model_image, strokes, withheld=False)
    else:
        st.session_state[PENDING] = {"label": label, "image": model_image, "strokes": strokes,
                                     "problem": reading.problem}


def withheld_ui(store, code: str, step: dict, pending: dict) -> None:
    """The best reader named no digit: the drawing shown once, with the reason; keep it, or redo."""
    st.image(charts.digit(pending["image"], 5), width=140, alt=charts.digit_alt(pending["label"]))
    st.warning(t("hand.withheld", digit=pending["label"]) + " " +
               t(f"reading.{pending['problem'].code}", **pending["problem"].values))
    anyway, redo = st.columns(2)
    if anyway.button(t("hand.keep_anyway"), icon=":material/check:", width="stretch"):
        _keep(store, code, step, pending["label"], pending["image"], pending["strokes"], withheld=True)
        st.rerun(scope="fragment")
    if redo.button(t("hand.redo"), type="primary", icon=":material/ink_eraser:", width="stretch"):
        st.session_state.pop(PENDING, None)
        step["canvas"] += 1
        st.rerun(scope="fragment")
