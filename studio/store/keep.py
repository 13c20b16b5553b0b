"""Runs that last (issue #20): who this browser is, and its runs written to and read from the store.

A learner is a random 256-bit secret kept by the browser in a first-party cookie
(`mnist_studio_learner`, SameSite=Strict, Secure over https, Max-Age = the retention period); the
server stores only its SHA-256 (mnist_core.runstore). Streamlit reads cookies itself
(`st.context.cookies`, from the request that opened the session); to write one, a ten-line
Components v2 script, built into Streamlit and running in the page (no iframe, no extra package,
nothing fetched), sets `document.cookie`. A link never carries the secret, so whoever opens a link
you sent is a different learner.

The session's in-memory models stay the fast path: a finished run is written once (on its training
thread, after it became the active model) and read back when a new session of the same browser
first opens a page that uses models. Without a store (a damaged file, an unreachable server), the
sidebar says so and everything else works as before.
"""

from __future__ import annotations

import re
import threading
import time

import streamlit as st
from streamlit.logger import get_logger

from mnist_core import runstore
from mnist_core.runstore import StoreError, bounds

from studio.session.models import MAX_MODELS, SessionModel, Studio, session_studio
from studio.ui.i18n import t

COOKIE = "mnist_studio_learner"
RETRY_SECONDS = 30          # after the store failed to open, try again at most this often
# Pages that use models: only they read runs back (and so import TensorFlow).
MODEL_PAGES = {"train", "evaluate", "predict", "tutorial", "class"}
_COOKIE_JS = """
export default function (component) {
  const { data } = component;
  if (!data || !data.name) return;
  const secure = location.protocol === "https:" ? "; Secure" : "";
  document.cookie = data.value
    ? `${data.name}=${data.value}; Max-Age=${data.max_age}; Path=/; SameSite=Strict${secure}`
    : `${data.name}=; Max-Age=0; Path=/; SameSite=Strict${secure}`;
}
"""
_cookie_writer = st.components.v2.component("mnist_studio.learner_cookie", js=_COOKIE_JS)
_log = get_logger(__name__)


# --- The store, one per server process -------------------------------------------------------------

_store: runstore.RunStore | None = None
_failure: tuple[float, str] | None = None
_opening = False
_lock = threading.Lock()


def get_store() -> runstore.RunStore | None:
    """The process's store, or None while it can't be opened (the reason: problem()).

    The first attempt is made at once; after a failure, a retry at most every RETRY_SECONDS runs
    on a thread of its own, so no page waits for an unreachable server's connect timeout."""
    global _opening
    with _lock:
        if _store is not None or _opening:
            return _store
        first = _failure is None
        if not first and time.monotonic() - _failure[0] < RETRY_SECONDS:
            return None
        _opening = True
    if first:
        _open()
    else:
        threading.Thread(target=_open, name="mnist-store-open", daemon=True).start()
    return _store


def _open() -> None:
    global _store, _failure, _opening
    try:
        store = runstore.open_store()
    except StoreError as exc:
        _log.warning("run store unavailable: %s", exc)
        with _lock:
            _failure, _opening = (time.monotonic(), reason(str(exc.values.get("detail", exc)))), False
        return
    with _lock:
        _store, _failure, _opening = store, None, False
    threading.Thread(target=_janitor, args=(store,), name="mnist-store-janitor", daemon=True).start()


def reason(detail: str) -> str:
    """Why the store failed, as a code: the driver's own words (English, perhaps a host and an
    address) go to the log, never to a page."""
    lowered = detail.lower()
    return "damaged" if any(word in lowered for word in ("not a database", "malformed", "corrupt")) else "unreachable"


def problem() -> str | None:
    """Why the store is not open, in the visitor's language (None while it is)."""
    return t(f"store.down.{_failure[1]}") if _failure else None


def _janitor(store: runstore.RunStore) -> None:
    """Remove what is older than the retention period, now and every JANITOR_EVERY_SECONDS."""
    while True:
        try:
            removed = store.sweep()
            if any(removed.values()):
                _log.info("run store janitor removed %s", removed)
        except StoreError as exc:
            _log.warning("run store janitor: %s", exc)
        time.sleep(bounds.JANITOR_EVERY_SECONDS)


def error_text(exc: StoreError) -> str:
    values = dict(exc.values)
    if "detail" in values:
        values["detail"] = t(f"store.down.{reason(str(values['detail']))}")
    return t(f"store.error.{exc.code}", **values)


def plain(text: str) -> str:
    """A visitor's text inside Markdown, shown as typed: every ASCII punctuation mark escaped."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", text)


# --- This browser ----------------------------------------------------------------------------------

def secret() -> str:
    """This browser's secret: from its cookie, or a new one (written by session_ui)."""
    value = st.session_state.get("keep_secret")
    if value is None:
        value = st.context.cookies.get(COOKIE)
        st.session_state["keep_secret"] = value = value if runstore.is_token(value) else runstore.new_secret()
    return value


def learner_id(*, create: bool) -> int | None:
    """The store's id for this browser (made on the first write), None without a store."""
    known = st.session_state.get("keep_learner")
    if known is not None:
        return known
    store = get_store()
    if store is None:
        return None
    found = store.learner(secret(), create=create)
    if found is not None:
        st.session_state["keep_learner"] = found
    return found


def session_ui(page) -> None:
    """Before a page that uses models: bring back this browser's runs, once per session."""
    if page.url_path in MODEL_PAGES:
        _restore_once(session_studio())


def _restore_once(studio: Studio) -> None:
    if st.session_state.get("keep_restored") is studio:
        return
    st.session_state["keep_restored"] = studio
    store = get_store()
    if store is None:
        return
    try:
        learner = learner_id(create=False)
        kept = store.runs(learner)[:MAX_MODELS] if learner is not None else []
    except StoreError as exc:
        _log.warning("saved runs could not be read back: %s", exc)
        studio.notify("store.unavailable", detail=t(f"store.down.{reason(str(exc.values.get('detail', '')))}"))
        return
    if not kept:
        return
    from mnist_core.storage import ModelFileError
    with st.spinner(t("store.restoring", count=len(kept))):
        for run in reversed(kept):                 # oldest first: the newest ends up active
            try:
                model, metadata = store.run_model(learner, run.id)
            except (StoreError, ModelFileError) as exc:
                _log.warning("a stored run could not be read back: %s", exc)
                continue
            metadata = {**run.record.get("metadata", {}), **metadata}
            studio.add(SessionModel(f"run-{run.number}", run.name, "kept", metadata, model=model))
    studio.continue_numbers_after(max(run.number for run in kept))
    wanted = st.query_params.get("model")          # a link to one of these runs, after a reload
    if wanted in studio.models:
        studio.active_key = wanted
    studio.notify("store.restored", count=len(kept))


# --- Writing a finished run -------------------------------------------------------------------------

def saving(studio: Studio, number: int, key: str, name: str, hand_over):
    """Wrap a run's on_done: hand the run to the session first, then write it to the store once
    (on the training thread). Who the learner is, is read now, on the script thread."""
    browser_secret = secret()

    def done(outcome) -> None:
        hand_over(outcome)
        if studio.released:
            return
        store = get_store()
        if store is None:
            studio.notify("store.not_saved", name=name, detail=problem() or "")
            return
        try:
            from mnist_core import storage
            payload = storage.model_bytes(outcome.model, outcome.metadata)
            record = runstore.RunRecord.of(number, name, outcome.metadata, outcome.report,
                                           outcome.model.count_params(), payload)
            learner = store.learner(browser_secret, create=True)
            _, dropped = store.save_run(learner, record)
        except StoreError as exc:
            studio.notify("store.not_saved", name=name, detail=error_text(exc))
            return
        except Exception:    # noqa: BLE001 (on the training thread: the run itself is already handed over)
            _log.exception("a finished run could not be saved")
            studio.notify("store.not_saved", name=name, detail="")
            return
        entry = studio.model(key)
        if entry is not None and entry.file_bytes is None:
            entry.file_bytes = payload              # the download button needs no second save
        studio.notify("store.saved", name=name, days=f"{bounds.RETENTION_DAYS:g}")
        if dropped:
            studio.notify("store.dropped", count=dropped, limit=bounds.MAX_RUNS_PER_LEARNER)
    return done


# --- The sidebar: how long runs are kept, Forget me, or why nothing is kept ---------------------------

def sidebar_ui() -> None:
    """At the bottom of the sidebar: write the cookie (its lifetime renewed each visit), and say
    how long runs are kept, with Forget me, or why nothing is kept."""
    _cookie_writer(key="keep_cookie", data={"name": COOKIE, "value": secret(),
                                            "max_age": int(bounds.RETENTION_DAYS * bounds.DAY)})
    store = get_store()
    if store is None:
        st.warning(t("store.unavailable", detail=problem() or ""), icon=":material/cloud_off:")
        return
    st.caption(t("store.kept", days=f"{bounds.RETENTION_DAYS:g}", limit=bounds.MAX_RUNS_PER_LEARNER))
    if st.session_state.pop("keep_forgotten", None) is not None:
        st.success(t("store.forgotten"))
    with st.popover(t("store.forget"), icon=":material/delete:"):
        st.markdown(t("store.forget.text"))
        if st.button(t("store.forget.confirm"), type="primary", key="keep_forget"):
            forget()


def forget() -> None:
    """Delete this browser's runs from the store and give it a new secret (a new learner)."""
    store = get_store()
    try:
        learner = learner_id(create=False) if store is not None else None
        count = store.forget(learner) if learner is not None else 0
    except StoreError as exc:
        st.error(error_text(exc))
        return
    st.session_state["keep_secret"] = runstore.new_secret()
    st.session_state.pop("keep_learner", None)
    st.session_state["keep_forgotten"] = count
    st.rerun()
