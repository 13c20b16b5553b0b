"""A fresh link reads the pen as well as the picture (#29): a two-stroke 4 and a one-stroke 9 drawn
with the mouse, each read right, and the page says two readers answered."""

import numpy as np
import pytest

from .conftest import wait_for_app
from .test_browser import FOUR, draw, settled_answer

pytestmark = pytest.mark.browser

# A 9 in one stroke: round the loop anticlockwise from its right side, back to it, then down the stem.
_turn = np.radians(np.linspace(-10, -370, 14))
NINE = [[(0.45 + 0.17 * np.cos(a), 0.32 + 0.17 * np.sin(a)) for a in _turn] + [(0.6, 0.88)]]


@pytest.mark.parametrize("strokes, expected", [(FOUR, "4"), (NINE, "9")], ids=["two-stroke 4", "one-stroke 9"])
def test_a_fresh_link_reads_a_drawing_from_its_picture_and_its_strokes(page, server, strokes, expected):
    page.goto(f"{server}/predict?lang=en")
    wait_for_app(page, 120_000)
    draw(page, strokes)
    assert settled_answer(page) == expected
    page.get_by_text("One answer from two readers").first.wait_for(timeout=30_000)
