"""The page a visitor sees first (#27): on Predict, the canvas and the answer on the first screen of
a 1400×900 laptop (side by side) and of a 390×844 phone (the answer right under the canvas), and the
Overview's step cards showing their whole titles, in both languages."""

import pytest

from .conftest import shot, wait_for_app
from .test_browser import SEVEN, draw, settled_answer

pytestmark = pytest.mark.browser

LAPTOP, PHONE = {"width": 1400, "height": 900}, {"width": 390, "height": 844}


def test_on_a_laptop_the_canvas_and_the_answer_share_the_first_screen(browser, server):
    page = browser.new_context(viewport=LAPTOP).new_page()
    try:
        page.goto(f"{server}/predict?lang=en")
        wait_for_app(page, 120_000)
        canvas = page.locator("canvas.upper-canvas").first
        before = canvas.bounding_box()
        assert 0 <= before["y"] and before["y"] + before["height"] <= LAPTOP["height"], before
        draw(page, SEVEN)
        assert settled_answer(page) == "7"
        answer = page.locator("[data-testid='stMetric']").first.bounding_box()
        assert answer["x"] >= before["x"] + before["width"], (answer, before)      # beside, not below
        assert 0 <= answer["y"] and answer["y"] + answer["height"] <= LAPTOP["height"], answer
        assert canvas.bounding_box() == before                                    # it never moved
        assert page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollTop") == 0
    finally:
        page.context.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_on_a_phone_the_canvas_is_on_the_first_screen_and_the_answer_right_under_it(browser, server, lang):
    """390×844 (tests/browser/test_browser.py draws there by touch): no scrolling to draw, and the
    answer comes right under the canvas, still on the first screen."""
    page = browser.new_context(viewport=PHONE).new_page()
    try:
        page.goto(f"{server}/predict?lang={lang}")
        wait_for_app(page, 120_000)
        canvas = page.locator("canvas.upper-canvas").first
        canvas.wait_for(timeout=30_000)
        box = canvas.bounding_box()
        assert 0 <= box["y"] and box["y"] + box["height"] <= PHONE["height"], box
        draw(page, SEVEN)
        metric = page.locator("[data-testid='stMetric']").first
        metric.wait_for(timeout=60_000)
        wait_for_app(page)
        assert metric.locator("[data-testid='stMetricValue']").inner_text().strip() == "7"
        answer = metric.bounding_box()
        assert box["y"] + box["height"] <= answer["y"] <= box["y"] + box["height"] + 100, (answer, box)
        assert answer["y"] + answer["height"] <= PHONE["height"], answer
        assert canvas.bounding_box() == box
    finally:
        page.context.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_overview_cards_show_their_whole_titles(page, server, lang):
    page.set_viewport_size(LAPTOP)
    page.goto(f"{server}/?lang={lang}")
    wait_for_app(page, 120_000)
    cut = page.locator("[data-testid='stMain'] [data-testid='stPageLink-NavLink']").evaluate_all(
        """links => links.filter(link => {
            const text = link.querySelector('p'), card = link.getBoundingClientRect();
            return text.scrollWidth > text.clientWidth || text.getBoundingClientRect().right > card.right + 0.5;
        }).map(link => link.innerText)""")
    assert cut == []
    if lang == "en":
        shot(page, "overview-cards")
