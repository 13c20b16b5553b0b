"""The app in headless Chromium, driven like a person would: URLs, mouse drawing, training."""

import pytest

from .conftest import shot, wait_for_app

pytestmark = pytest.mark.browser

PAGES = {"": "MNIST Studio", "explore": "Explore the data", "train": "Build and train",
         "evaluate": "Evaluate", "predict": "Predict"}


def metric(page, label: str) -> str:
    block = page.locator("[data-testid='stMetric']", has_text=label).first
    return block.locator("[data-testid='stMetricValue']").inner_text().strip()


@pytest.mark.parametrize("path", list(PAGES))
def test_each_url_path_opens_its_page(page, server, path):
    page.goto(f"{server}/{path}")
    wait_for_app(page, 120_000)
    assert page.locator("[data-testid='stMain'] h1").first.inner_text().strip() == PAGES[path]
    assert not page.locator("[data-testid='stException']").count()
    assert page.locator("[data-testid='stSidebar']").get_by_text("Active model").count()
    shot(page, f"page-{path or 'overview'}")


def draw(page, strokes):
    """Draw strokes (lists of points in 0..1 of the canvas) with the mouse, one at a time."""
    canvas = page.locator("canvas.upper-canvas").first
    canvas.wait_for(timeout=30_000)
    box = canvas.bounding_box()
    for stroke in strokes:
        x0, y0 = stroke[0]
        page.mouse.move(box["x"] + x0 * box["width"], box["y"] + y0 * box["height"])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=12)
        page.mouse.up()
        page.wait_for_timeout(300)


SEVEN = [[(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]]
ONE = [[(0.5, 0.15), (0.5, 0.85)]]
FOUR = [[(0.35, 0.15), (0.28, 0.55), (0.72, 0.55)], [(0.62, 0.3), (0.62, 0.88)]]


@pytest.mark.parametrize("name, strokes, expected", [("seven", SEVEN, "7"), ("one", ONE, "1"),
                                                     ("four", FOUR, "4")])
def test_drawing_a_digit_with_the_mouse_is_recognised(page, server, name, strokes, expected):
    page.goto(f"{server}/predict")
    wait_for_app(page, 120_000)
    draw(page, strokes)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stMetricLabel\"]')]"
        ".some(e => e.innerText.includes('Prediction'))", timeout=30_000)
    wait_for_app(page)
    assert metric(page, "Prediction") == expected
    shot(page, f"predict-drawn-{name}")


def test_deep_links_reopen_the_same_view(page, server):
    page.goto(f"{server}/predict?index=1")
    wait_for_app(page, 120_000)
    assert metric(page, "Prediction") == "2"
    assert "source=test" in page.url and "index=1" in page.url
    page.goto(f"{server}/explore?split=test&index=0")
    wait_for_app(page)
    assert page.get_by_text("= 7").count()
    page.goto(f"{server}/explore?index=abc")
    wait_for_app(page)
    assert not page.locator("[data-testid='stException']").count()


def test_training_live_chart_updates_and_finishes(page, server):
    page.goto(f"{server}/train?epochs=2")
    wait_for_app(page, 120_000)
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Epoch 1/2").first.wait_for(timeout=60_000)
    charts_seen = page.locator("[data-testid='stVegaLiteChart']")
    charts_seen.first.wait_for(timeout=30_000)
    first_text = page.locator("[data-testid='stProgress']").first.inner_text()
    page.wait_for_timeout(2500)
    later = page.locator("[data-testid='stProgress']")
    assert later.count() == 0 or later.first.inner_text() != first_text     # it moves
    shot(page, "train-live")
    page.get_by_text("finished after").wait_for(timeout=180_000)
    wait_for_app(page)
    assert page.get_by_text("Models in this session").count()
    shot(page, "train-finished")


def test_two_sessions_never_see_each_others_runs(browser, server):
    alice = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    bob = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    try:
        alice.goto(f"{server}/train?epochs=1")
        wait_for_app(alice, 120_000)
        alice.get_by_role("button", name="Start training").click()
        alice.get_by_text("finished after").wait_for(timeout=180_000)
        bob.goto(f"{server}/train")
        wait_for_app(bob, 120_000)
        assert bob.get_by_text("Runs you train (or models you upload) appear here").count()
        assert not bob.get_by_text("Run 1").count()
        assert alice.get_by_text("Run 1").count()
    finally:
        alice.context.close()
        bob.context.close()
