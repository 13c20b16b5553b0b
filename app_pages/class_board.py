"""A class board: a teacher creates a class, learners publish finished runs to it, everyone with the
code watches the class's runs side by side and can open one in Evaluate or Predict (read-only); the
class draws its own test set and sees every model measured on it (Our handwriting, issue #28)."""

import streamlit as st

from mnist_core.runstore import StoreError, bounds, is_token
from studio.store import board, classroom, handwriting
from studio.store.identity import learner_id
from studio.store.opening import error_text, get_store, unavailable_text
from studio.ui.markdown import plain
from studio.ui.i18n import t

KEYS = "board_keys"          # {class code: teacher key} this session holds


def start_ui(store) -> None:
    """No class in the address: create one, or open one by its code."""
    left, right = st.columns(2)
    with left.form("board_create"):
        st.header(t("board.create"))
        name = st.text_input(t("board.class_name"), max_chars=bounds.MAX_CLASS_NAME)
        if st.form_submit_button(t("board.create.button"), type="primary"):
            try:
                code, key = store.create_class(learner_id(create=True), name)
            except StoreError as exc:
                st.error(error_text(exc))
            else:
                st.session_state.setdefault(KEYS, {})[code] = key
                st.session_state["board_created"] = code
                st.query_params["code"] = code
                st.rerun()
    with right.form("board_open"):
        st.header(t("board.open"))
        code = st.text_input(t("board.code"), max_chars=64).strip()
        if st.form_submit_button(t("board.open.button")):
            # A short code is a join code from the projector: it finds the class (rate-limited).
            code = code if len(code) > 12 else classroom.join(store, code)
            if code:
                st.query_params["code"] = code
                st.rerun()


def created_ui(code: str) -> None:
    """After creating a class: the link to share and the key to keep, in this session only."""
    if st.session_state.get("board_created") != code:
        return
    st.success(t("board.created"))
    st.markdown(t("board.share"))
    st.code(board.link(code), language=None)
    # Folded away from the link: a projected page must not show the class the key that closes it.
    with st.expander(t("board.teacher_key.reveal"), icon=":material/key:"):
        st.markdown(t("board.teacher_key"))
        st.code(st.session_state[KEYS][code], language=None)


def publish_ui(store, code: str) -> None:
    learner = learner_id(create=False)
    mine = store.runs(learner) if learner is not None else []
    if not mine:
        st.caption(t("board.publish.none"))
        return
    with st.form("board_publish", clear_on_submit=True):
        st.markdown(t("board.publish.text", days=f"{bounds.RETENTION_DAYS:g}"))
        names = {run.id: f"{run.name} · {run.test_accuracy:.2%}" for run in mine}
        run_id = st.selectbox(t("board.publish.run"), list(names), format_func=names.get)
        display = st.text_input(t("board.publish.name"), max_chars=bounds.MAX_DISPLAY_NAME)
        if st.form_submit_button(t("board.publish.button"), type="primary", icon=":material/publish:"):
            try:
                store.publish(learner, run_id, code, display)
            except StoreError as exc:
                st.error(error_text(exc))
            else:
                st.toast(t("board.published"), icon=":material/check:")


def open_ui(code: str, entries) -> None:
    """Open a published run in Evaluate or Predict, as this session's read-only model."""
    labels = {e.id: board.label(e) for e in entries}
    left, middle, right = st.columns([2, 1, 1], vertical_alignment="bottom")
    picked = left.selectbox(t("board.open_run"), list(labels), format_func=labels.get, key="board_pick")
    if middle.button(t("board.open.evaluate"), icon=":material/fact_check:"):
        board.open_entry(code, picked, "evaluate")
    if right.button(t("board.open.predict"), icon=":material/draw:"):
        board.open_entry(code, picked, "predict")


def hide_ui(store, code: str, key: str, entries) -> None:
    labels = {e.id: board.label(e) for e in entries}
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    hidden = left.selectbox(t("board.teacher.entry"), list(labels), format_func=labels.get, key="board_hide")
    if right.button(t("board.teacher.hide"), icon=":material/visibility_off:"):
        try:
            store.hide(code, key, hidden)
        except StoreError as exc:       # the database went away, or the key is wrong: said, not raised
            st.error(error_text(exc))
            return
        st.rerun(scope="fragment")


def live_ui(store, code: str) -> None:
    """The board and what acts on its entries, redrawn every REFRESH_SECONDS: runs appear live."""
    entries = board.entries_ui(code)
    if entries:
        open_ui(code, entries)
        key = st.session_state.get(KEYS, {}).get(code)
        if key:
            hide_ui(store, code, key, entries)


def teacher_ui(store, code: str, info) -> str | None:
    """The teacher key, checked once a session; with it, hiding entries (on the board), closing, the
    projector view -> the key once it is right."""
    held = st.session_state.setdefault(KEYS, {})
    with st.expander(t("board.teacher"), expanded=code in held):
        key = st.text_input(t("board.teacher.key"), value=held.get(code, ""), type="password",
                            max_chars=64, key="board_key_input").strip()
        if not key:
            st.caption(t("board.teacher.hint"))
            return None
        if not (is_token(key) and store.is_teacher(code, key)):
            st.error(t("store.error.wrong_key"))
            return None
        if held.get(code) != key:
            held[code] = key
            st.rerun()           # the board's entries get their Hide control
        if not info.closed and st.button(t("board.teacher.close"), icon=":material/lock:",
                                    help=t("board.teacher.close.help")):
            store.close_class(code, key)
            st.rerun()
        projector = not info.closed and st.toggle(t("hand.projector"), key="hand_projector_on")
    if projector:
        classroom.projector_ui(store, code, key, info.name)
    return key


def board_ui(store, code: str) -> None:
    try:
        info = store.find_class(code)
    except StoreError as exc:
        st.error(error_text(exc))
        st.page_link("app_pages/class_board.py", label=t("board.back"), icon=":material/arrow_back:")
        return
    st.header(plain(info.name))
    created_ui(code)
    key = teacher_ui(store, code, info)
    runs, drawings = st.tabs([t("board.tab.runs"), t("hand.tab")])
    with runs:
        if info.closed:
            st.info(t("board.closed"), icon=":material/lock:")
        else:
            publish_ui(store, code)
        st.fragment(live_ui, run_every=board.REFRESH_SECONDS)(store, code)
    with drawings:
        handwriting.section_ui(store, code, info, key)


def main():
    st.title(t("board.title"))
    st.caption(t("board.caption", days=f"{bounds.RETENTION_DAYS:g}"))
    store = get_store()
    if store is None:
        st.warning(unavailable_text(),
                   icon=":material/cloud_off:")
        return
    code = st.query_params.get("code")
    try:
        if code:
            board_ui(store, code)
        else:
            start_ui(store)
    except StoreError as exc:          # the database went away between two steps
        st.warning(error_text(exc), icon=":material/cloud_off:")


main()
