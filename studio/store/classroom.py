"""The teacher's tools for the class's own handwriting (issue #28), and joining by a short code.

The projector view shows the class's link as a QR code and a join code a learner can type; never the
teacher key. With the key: remove a drawing or a learner's whole round, close drawing, download the
set (.npz: images, labels, strokes) and a CSV of what each model said about each drawing.
"""

from __future__ import annotations

import io
import threading

import streamlit as st

from mnist_core.drawings import classset
from mnist_core.runstore import StoreError, token_hash
from mnist_core.runstore.handwriting import Handwriting

from studio.ui import charts
from studio.ui.i18n import t
from studio.ui.markdown import plain
from . import board, identity, measures, opening

JOINS = "hand_join_codes"        # {class code: join code} shown on this session's projector view


def join(store, typed: str) -> str | None:
    """A typed join code -> the class code (None, with the reason shown, when it is refused)."""
    try:
        return Handwriting(store).join(typed, token_hash(identity.secret()))
    except StoreError as exc:
        st.error(opening.error_text(exc))
        return None


def qr_png(text: str) -> bytes:
    import qrcode
    buffer = io.BytesIO()
    qrcode.make(text, border=2, box_size=10).save(buffer, "PNG")
    return buffer.getvalue()


def projector_ui(store, code: str, key: str, name: str) -> None:
    """What the teacher puts on the wall: the class, its link as a QR code, a join code."""
    codes = st.session_state.setdefault(JOINS, {})
    if code not in codes:
        try:
            codes[code] = Handwriting(store).join_code(code, key)
        except StoreError as exc:
            st.error(opening.error_text(exc))
            return
    with st.container(border=True, key="hand_projector"):
        st.header(plain(name))
        left, right = st.columns([1, 2], vertical_alignment="center")
        left.image(qr_png(board.link(code)), width=260, alt=t("hand.projector.qr_alt"))
        right.markdown(t("hand.projector.join"))
        right.title(codes[code])
        right.caption(t("hand.projector.hint"))


def tools_ui(store, code: str, key: str, drawn, entries) -> None:
    """With the teacher key: the class's drawings, removing, closing drawing, downloads."""
    hand = Handwriting(store)
    st.markdown(t("hand.teacher.title", count=len(drawn)))
    if len(drawn):
        newest = list(range(len(drawn)))[::-1][:40]
        charts.digit_row(drawn.images[newest],
                         [t("hand.teacher.caption", id=int(drawn.ids[i]), learner=int(drawn.learners[i]),
                            label=int(drawn.labels[i])) + (" ⚠" if drawn.withheld[i] else "") for i in newest],
                         [charts.digit_alt(int(drawn.labels[i])) for i in newest], scale=2)
        labels = {int(drawn.ids[i]): t("hand.teacher.caption", id=int(drawn.ids[i]), learner=int(drawn.learners[i]),
                                       label=int(drawn.labels[i])) for i in newest}
        picked = st.selectbox(t("hand.teacher.pick"), list(labels), format_func=labels.get, key="hand_pick")
        one, whole = st.columns(2)
        for column, whole_round, name in ((one, False, "hand.teacher.remove"), (whole, True, "hand.teacher.remove_round")):
            if column.button(t(name), icon=":material/delete:", width="stretch"):
                try:
                    count = hand.remove(code, key, picked, whole_round=whole_round)
                except StoreError as exc:
                    st.error(opening.error_text(exc))
                else:
                    st.toast(t("hand.teacher.removed", count=count))
                    st.rerun()
        downloads_ui(store, code, key, drawn, entries)
    if not hand.drawing_closed(code):
        if st.button(t("hand.teacher.close"), icon=":material/edit_off:"):
            hand.close_drawing(code, key)
            st.rerun()
    else:
        st.caption(t("hand.closed"))


_exports: dict = {}      # (code, set version, key's hash) -> (export, its .npz): built once per version
EXPORTS_KEPT = 4
_exports_lock = threading.Lock()


def downloads_ui(store, code: str, key: str, drawn, entries) -> None:
    """The set for a notebook, and what each model (measured so far) said about each drawing.
    The export (up to a class's whole set with its strokes) is read and packed once per version of
    the set, not on every rerun of the teacher's page."""
    cache_key = (code, drawn.version, token_hash(key))
    built = _exports.get(cache_key)
    if built is None:
        exported = Handwriting(store).export(code, key)
        built = (exported, classset.to_npz(exported.images, exported.labels, exported.strokes,
                                           exported.learners, exported.ids))
        with _exports_lock:        # teachers' pages run on threads of their own
            _exports[cache_key] = built
            while len(_exports) > EXPORTS_KEPT:
                _exports.pop(next(iter(_exports)))
    exported, payload = built
    said = {}
    for model_key, name, _, predictor in measures.models_of(store, code, entries):
        measure, _, missing = measures.measured(model_key, exported, predictor)
        if measure is not None and not missing:
            said[name] = measure
    left, right = st.columns(2)
    left.download_button(t("hand.teacher.npz"), payload, "class-handwriting.npz", "application/octet-stream",
                         icon=":material/download:", on_click="ignore", width="stretch")
    right.download_button(t("hand.teacher.csv"), classset.readings_csv(exported.ids, exported.labels, said),
                          "class-handwriting-readings.csv", "text/csv", icon=":material/table:",
                          on_click="ignore", width="stretch")
