"""Query-string values that survive anything a user types into the address bar.

A shared link reopens the same view: pages read their key settings from the URL and write them
back as they change. A nonsense value (?index=abc, ?index=-1) falls back to the default with a
short note, never an error.
"""

from __future__ import annotations

import re

import streamlit as st

from .i18n import t


def read_int(name: str, default: int, low: int, high: int) -> int:
    raw = st.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        note(t("url.not_whole", name=name, value=shown(raw)))
        return default
    if not low <= value <= high:
        note(t("url.out_of_range", name=name, value=value, low=low, high=high))
        return default
    return value


def read_choice(name: str, default: str, choices) -> str:
    raw = st.query_params.get(name)
    if raw is None:
        return default
    if raw not in choices:
        note(t("url.not_a_choice", name=name, value=shown(raw), choices=", ".join(map(str, choices))))
        return default
    return raw


def write(**values) -> None:
    """Keep the address bar in step with the page (only what changed, to avoid extra reruns)."""
    for name, value in values.items():
        text = str(value)
        if st.query_params.get(name) != text:
            st.query_params[name] = text


def shown(raw: str) -> str:
    """A visitor's value, safe inside Markdown: letters, digits and . - + only, at most 20."""
    return re.sub(r"[^\w.+-]", "?", raw[:20])


def note(message: str) -> None:
    st.toast(message, icon=":material/link_off:")
    st.session_state.setdefault("url_notes", []).append(message)


def seed_widget(key: str, value) -> None:
    """Give a widget its first value from the URL, once per session (later the widget owns it)."""
    if key not in st.session_state:
        st.session_state[key] = value
