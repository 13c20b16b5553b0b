"""A drawing's readings are kept per model entry, not per key (studio/predict/reading.py, #25)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np


def test_teach_it_twice_on_one_drawing_reads_with_the_second_lesson(monkeypatch):
    """Readings were cached by the model's key, which every lesson's model shares ("taught"):
    the second lesson showed the first one's answer (#25)."""
    from studio.predict import reading
    from studio.session.models import SessionModel
    monkeypatch.setattr(reading, "predictor", lambda entry: SimpleNamespace(
        read=lambda image, photo=False: entry.name))
    seen = reading.Seen("drawing", np.zeros((28, 28), np.float32))
    first = SessionModel("taught", "lesson 1", "tuned", {})
    assert seen.reading(first) == "lesson 1" and seen.reading(first) == "lesson 1"
    second = SessionModel("taught", "lesson 2", "tuned", {})
    assert seen.reading(second) == "lesson 2"
