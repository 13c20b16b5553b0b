"""A drawing's readings are kept per Predictor, not per model key (studio/predict/reading.py, #25, #29)."""

from __future__ import annotations

import weakref

import numpy as np


class Reader:
    """Stands in for a Predictor: says who read the drawing, and counts its reads."""

    def __init__(self, says: str):
        self.says, self.reads = says, 0

    def read(self, image, photo=False):
        self.reads += 1
        return self.says


def test_teach_it_twice_on_one_drawing_reads_with_the_second_lesson(monkeypatch):
    """Readings were cached by the model's key, which every lesson's model shares ("taught"):
    the second lesson showed the first one's answer (#25)."""
    from studio.predict import reading
    from studio.session.models import SessionModel
    readers = {}     # as loaded() does: one Predictor per entry, kept on it
    monkeypatch.setattr(reading, "predictor", lambda entry: readers.setdefault(id(entry), Reader(entry.name)))
    seen = reading.Seen("drawing", np.zeros((28, 28), np.float32))
    first = SessionModel("taught", "lesson 1", "tuned", {})
    assert seen.reading(first) == "lesson 1" and seen.reading(first) == "lesson 1"
    assert readers[id(first)].reads == 1                      # read once, then kept
    second = SessionModel("taught", "lesson 2", "tuned", {})
    assert seen.reading(second) == "lesson 2"


def test_a_bundled_models_first_reading_survives_the_next_rerun(monkeypatch):
    """A bundled model's entry is made anew on every run, but it reads with the server's one
    Predictor: the first reading (image and pen together, from read_canvas) is kept, not replaced by
    the image alone on the next rerun of the same drawing (#29's answer changed otherwise)."""
    from studio.predict import reading
    from studio.session.models import SessionModel
    server_reader = Reader("image alone")
    monkeypatch.setattr(reading, "predictor", lambda entry: server_reader)
    seen = reading.Seen("drawing", np.zeros((28, 28), np.float32))
    seen.readings["best", False] = (weakref.ref(server_reader), "image and pen")
    for _ in range(3):                                         # three reruns, three new entries
        assert seen.reading(SessionModel("best", "best reader", "bundled", {})) == "image and pen"
    assert server_reader.reads == 0
