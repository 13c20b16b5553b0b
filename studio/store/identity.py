"""Who this browser is: a random 256-bit secret kept by the browser in a first-party cookie
(`mnist_studio_learner`, SameSite=Strict, Secure over https, Max-Age = the retention period); the
server stores only its SHA-256 (mnist_core.runstore). Streamlit reads cookies itself
(`st.context.cookies`, from the request that opened the session); to write one, a ten-line
Components v2 script, built into Streamlit and running in the page (no iframe, no extra package,
nothing fetched), sets `document.cookie`. A link never carries the secret, so whoever opens a link
you sent is a different learner.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

import streamlit as st

from mnist_core import runstore
from mnist_core.runstore import StoreError, bounds, token_hash

from .opening import error_text, get_store

COOKIE = "mnist_studio_learner"
_COOKIE_JS = """
export default function (component) {
  const { data, setStateValue } = component;
  if (!data || !data.name) return;
  const secure = location.protocol === "https:" ? "; Secure" : "";
  const held = (document.cookie.split("; ").find(c => c.startsWith(data.name + "=")) || "")
    .slice(data.name.length + 1);
  // Two tabs of a first visit each made a secret: the second adopts the one the first wrote.
  if (data.fresh && held && held !== data.value && /^[A-Za-z0-9_-]{16,64}$/.test(held)) {
    setStateValue("held", held);
    return;
  }
  document.cookie = data.value
    ? `${data.name}=${data.value}; Max-Age=${data.max_age}; Path=/; SameSite=Strict${secure}`
    : `${data.name}=; Max-Age=0; Path=/; SameSite=Strict${secure}`;
}
"""
_cookie_writer = st.components.v2.component("mnist_studio.learner_cookie", js=_COOKIE_JS)
# Digests of secrets whose learner pressed Forget me (this process) -> when: remembered as long as a
# run started before could still finish (the longest wait in line plus the longest training), and
# at most FORGOTTEN_AT_MOST of them, so pressing it again and again grows nothing for long.
_forgotten: OrderedDict[str, float] = OrderedDict()
FORGOTTEN_SECONDS = 2 * 3600
FORGOTTEN_AT_MOST = 100_000
_forgotten_lock = threading.Lock()


def was_forgotten(browser_secret: str) -> bool:
    """True once Forget me was pressed for this secret: a run still training must not bring the
    learner back (the store would keep it under a secret the browser no longer has)."""
    with _forgotten_lock:
        return token_hash(browser_secret) in _forgotten


def _remember_forgotten(browser_secret: str) -> None:
    now = time.monotonic()
    with _forgotten_lock:
        _forgotten[token_hash(browser_secret)] = now
        _forgotten.move_to_end(token_hash(browser_secret))
        while _forgotten and (len(_forgotten) > FORGOTTEN_AT_MOST
                              or now - next(iter(_forgotten.values())) > FORGOTTEN_SECONDS):
            _forgotten.popitem(last=False)


def secret() -> str:
    """This browser's secret: from its cookie, or a new one (written by write_cookie)."""
    value = st.session_state.get("keep_secret")
    if value is None:
        value = st.context.cookies.get(COOKIE)
        fresh = not runstore.is_token(value)
        st.session_state["keep_secret"] = value = runstore.new_secret() if fresh else value
        st.session_state["keep_fresh"] = fresh       # made here: another tab's cookie may win
    return value


def write_cookie() -> None:
    """Write this browser's cookie, its lifetime renewed each visit. A secret this session made
    (no cookie came with its request) gives way to one another tab wrote meanwhile: the browser
    stays one learner, not one per tab of its first visit."""
    fresh = bool(st.session_state.get("keep_fresh"))
    result = _cookie_writer(key="keep_cookie", on_held_change=lambda: None,
                            data={"name": COOKIE, "value": secret(), "fresh": fresh,
                                  "max_age": int(bounds.RETENTION_DAYS * bounds.DAY)})
    held = getattr(result, "held", None)
    if fresh and runstore.is_token(held) and held != secret():
        st.session_state.update(keep_secret=held, keep_fresh=False)
        for key in ("keep_learner", "keep_restored"):      # the adopted learner's runs come back
            st.session_state.pop(key, None)
        st.rerun()


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


def forget() -> None:
    """Delete this browser's runs from the store and give it a new secret (a new learner)."""
    store = get_store()
    _remember_forgotten(secret())
    try:
        learner = learner_id(create=False) if store is not None else None
        count = store.forget(learner) if learner is not None else 0
    except StoreError as exc:
        st.error(error_text(exc))
        return
    st.session_state.update(keep_secret=runstore.new_secret(), keep_fresh=False)   # written over the old
    st.session_state.pop("keep_learner", None)
    st.session_state["keep_forgotten"] = count
    st.rerun()
