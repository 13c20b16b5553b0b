"""Words a visitor reads, in English and 简体中文: one catalogue per language, one function.

`t("sidebar.model", name=...)` returns the string for the session's language. The language comes
from `?lang=` in the address, then the sidebar's choice, then the browser's language. Catalogues
are flat JSON files in studio/ui/locales/ (key -> text with {named} values); a test fails when a key
is missing from either of them. mnist_core never knows the language: it raises or returns codes
with values (ModelFileError.code, Reading.problem), and `t` turns them into words here.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import streamlit as st

LANGUAGES = {"en": "English", "zh": "简体中文"}
DEFAULT = "en"
LOCALES = Path(__file__).with_name("locales")
STATE_KEY = "lang"
# Choice widgets whose option labels are translated. Streamlit sends a choice back by its label,
# so after a language change the browser would send a label of the old language: on that run each
# of these is set again from its value (which is language-free), in the new language's labels.
TRANSLATED_CHOICES = ("train_arch", "explore_split", "explore_pixels", "predict_source", "train_active",
                      "inside_view")


@functools.cache
def catalogue(language: str) -> dict[str, str]:
    return json.loads((LOCALES / f"{language}.json").read_text(encoding="utf-8"))


def browser_language() -> str:
    locale = getattr(st.context, "locale", None) or ""
    return "zh" if locale.lower().startswith("zh") else DEFAULT


def choose_language() -> str:
    """The session's language, settled at the start of each run: a `?lang=` the session has not
    seen yet wins (a shared link), then the sidebar's choice, then the browser's language."""
    from_url = st.query_params.get("lang")
    if from_url in LANGUAGES and from_url != st.session_state.get("lang_seen_in_url"):
        st.session_state[STATE_KEY] = from_url
    elif st.session_state.get(STATE_KEY) not in LANGUAGES:
        st.session_state[STATE_KEY] = browser_language()
    st.session_state["lang_seen_in_url"] = current = st.session_state[STATE_KEY]
    if st.session_state.get("lang_last_run", current) != current:
        for key in TRANSLATED_CHOICES:
            if key in st.session_state:
                st.session_state[key] = st.session_state[key]   # read with the old labels, kept
    st.session_state["lang_last_run"] = current
    return current


def language() -> str:
    value = st.session_state.get(STATE_KEY)
    return value if value in LANGUAGES else DEFAULT


def t(key: str, **values) -> str:
    """The text for `key` in the session's language, with `values` filled in."""
    text = catalogue(language()).get(key)
    if text is None:
        text = catalogue(DEFAULT)[key]      # KeyError for a key no catalogue has: a bug
    return text.format(**values) if values else text


def labels_in_this_language(pattern: str):
    """A format_func for a choice widget: value -> text of the key `pattern.format(value)`, in the
    language of this run. Bound now, because Streamlit calls it again on the next run to decode
    the label the browser sends back, and that label is in the language it was drawn in."""
    words, fallback = catalogue(language()), catalogue(DEFAULT)
    return lambda value: words.get(pattern.format(value)) or fallback[pattern.format(value)]


def ordinal(number: int) -> str:
    """1 -> "1st" / "第 1"."""
    if language() == "zh":
        return f"第 {number}"
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"
