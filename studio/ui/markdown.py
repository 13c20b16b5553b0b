"""A visitor's text inside Markdown, shown as typed (class names, display names)."""

from __future__ import annotations

import re


def plain(text: str) -> str:
    """`text` with every ASCII punctuation mark escaped: Markdown shows it as typed, never as markup."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", text)
