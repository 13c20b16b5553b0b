"""Who this browser is: a random 256-bit secret kept by the browser in a first-party cookie
(`mnist_studio_learner`, SameSite=Strict, Secure over https, Max-Age = the retention period); the
server stores only its SHA-256 (mnist_core.runstore). Streamlit reads cookies itself
(`st.context.cookies`, from the request that opened the session); to write one, a ten-line
Components v2 script, built into Streamlit and running in the page (no iframe, no extra package,
nothing fetched), sets `document.cookie`. A link never carries the secret, so whoever opens a link
you sent is a different learner.
"""

from __future__ import annotations

import streamlit as st

from mnist_core import runstore
from mnist_core.runstore import StoreError, bounds

from .opening import error_text, get_store

COOKIE = "mnist_studio_learner"
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


def secret() -> str:
    """This browser's secret: from its cookie, or a new one (written by write_cookie)."""
    value = st.session_state.get("keep_secret")
    if value is None:
        value = st.context.cookies.get(COOKIE)
        st.session_state["keep_secret"] = value = value if runstore.is_token(value) else runstore.new_secret()
    return value


def write_cookie() -> None:
    """Write this browser's cookie, its lifetime renewed each visit."""
    _cookie_writer(key="keep_cookie", data={"name": COOKIE, "value": secret(),
                                            "max_age": int(bounds.RETENTION_DAYS * bounds.DAY)})


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
