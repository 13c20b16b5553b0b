"""Every limit of the run store, stated once. The retention period and the runs kept per learner
can be changed by environment variables (MNIST_STUDIO_RETENTION_DAYS, MNIST_STUDIO_MAX_STORED_RUNS);
a value out of range stops the server at launch with a message that names it (SettingError)."""

from __future__ import annotations

import os
import re
import unicodedata


class SettingError(ValueError):
    """A setting from the environment that the server must not start with (its name in the message)."""


def _setting(name: str, default, low, high, kind=float):
    """The environment's value for `name`, or `default`; refused unless it is a `kind` within
    [low, high]: 0, a negative number or nan would make the first sweep delete everything."""
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = kind(text.strip())
    except ValueError:
        value = None
    if value is None or not low <= value <= high:         # nan fails both comparisons
        raise SettingError(f"{name}={text!r}: must be a {'whole ' if kind is int else ''}number "
                           f"from {low:g} to {high:g}")
    return value


DAY = 24 * 3600
# A stored run is removed this long after it was trained, with its board entries (the janitor).
RETENTION_DAYS = _setting("MNIST_STUDIO_RETENTION_DAYS", 30.0, 1 / 24, 3650)
MAX_RUNS_PER_LEARNER = _setting("MNIST_STUDIO_MAX_STORED_RUNS", 20, 1, 1000, int)   # the oldest goes first
# A model file kept in the store. The tutorial's dense network with its RMSprop state is 3.1 MiB,
# the best CNN 1.5 MiB; 16 MiB holds a dense network of ~1,600 hidden units with Adam (~2,500 with
# RMSprop). Bigger ones (the Train page allows 4,096) train and work but are not saved, and say so.
MAX_STORED_MODEL_BYTES = 16 * 2**20
MAX_ENTRIES_PER_CLASS = 200             # published runs on one board
MAX_DISPLAY_NAME = 40                   # characters, after cleaning
MAX_CLASS_NAME = 60
# Rate limits, counted in the store so that every replica sees the same counts.
PUBLISH_WINDOW_SECONDS = 600
PUBLISH_PER_LEARNER = 5                 # publications per learner per window
PUBLISH_PER_CLASS = 60                  # publications into one class per window
CLASSES_PER_LEARNER_PER_DAY = 5
SWEEP_EVERY_SECONDS = 3600            # the store janitor removes what retention has expired

_SPACES = re.compile(r"\s+")


def clean_name(text, limit: int) -> str:
    """A name as plain text: control and format characters (newlines, bidi overrides, zero-width)
    removed, runs of white space made one space, at most `limit` characters. Raises ValueError
    when nothing is left or it is too long. Markup is kept as text; pages show it as text."""
    if not isinstance(text, str):
        raise ValueError("empty")
    text = "".join(" " if ch.isspace() else ch for ch in text
                   if ch.isspace() or not unicodedata.category(ch).startswith("C"))
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()
    if not text:
        raise ValueError("empty")
    if len(text) > limit:
        raise ValueError("too_long")
    return text
