"""A drawing of several strokes reaches the model whole, and Clear starts a new one (one server).

The canvas sends its image once per stroke and each send reruns Predict's fragment: whatever sits
above the canvas must keep its height from the first answer on, or the canvas moves under the pen
and the next stroke lands elsewhere on it (a two-stroke + read as a T)."""

import base64
import io

import numpy as np
import pytest
from PIL import Image

from .conftest import wait_for_app
from .test_browser import SEVEN, draw, settled_answer

pytestmark = pytest.mark.browser

PLUS = [[(0.5, 0.15), (0.5, 0.85)], [(0.15, 0.5), (0.85, 0.5)]]
SHOWN_CANVAS_JS = "canvases => canvases.map(c => c.toDataURL('image/png'))"


def ink_at(page, points) -> list[bool]:
    """Whether the canvas' drawing has ink at each point (0..1 of the canvas)."""
    url = page.locator("canvas.lower-canvas").evaluate_all(SHOWN_CANVAS_JS)[-1]
    alpha = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGBA"))[..., 3]
    side = alpha.shape[0]
    return [bool(alpha[int(y * side), int(x * side)]) for x, y in points]


def test_two_strokes_reach_the_canvas_where_drawn_then_clear_and_draw_again(page, server):
    page.goto(f"{server}/predict?model=tutorial")
    wait_for_app(page, 120_000)
    canvas = page.locator("canvas.upper-canvas").first
    canvas.wait_for(timeout=30_000)
    before = canvas.bounding_box()
    draw(page, PLUS[:1])
    settled_answer(page)                 # the first stroke's answer is on the page
    assert canvas.bounding_box() == before, "the canvas moved when the first answer came"
    draw(page, PLUS[1:])
    settled_answer(page)
    # Both strokes where the pen went: the middle, the top of the upright, the crossbar's ends.
    assert ink_at(page, [(0.5, 0.5), (0.5, 0.2), (0.2, 0.5), (0.8, 0.5)]) == [True] * 4
    assert canvas.bounding_box() == before
    page.get_by_role("button", name="Clear").click()
    page.get_by_text("Waiting for a digit").wait_for(timeout=30_000)
    wait_for_app(page)
    assert ink_at(page, [(0.5, 0.5), (0.5, 0.2)]) == [False, False]
    draw(page, SEVEN)
    assert settled_answer(page) == "7"
    assert canvas.bounding_box() == before
