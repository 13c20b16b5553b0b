"""The app in headless Chromium, driven like a person would: URLs, mouse drawing, training."""

import json
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from ..conftest import ROOT
from .conftest import SCREENSHOTS, shot, wait_for_app

pytestmark = pytest.mark.browser

CATALOGUES = {lang: json.loads((ROOT / "studio" / "ui" / "locales" / f"{lang}.json").read_text("utf-8"))
              for lang in ("en", "zh")}
# path -> (the h1's catalogue key, the browser tab's catalogue key)
PAGES = {"": (None, "page.overview"), "tutorial": ("tutorial.title", "page.tutorial"),
         "explore": ("explore.title", "page.explore"),
         "train": ("train.title", "page.train"), "evaluate": ("evaluate.title", "page.evaluate"),
         "predict": ("predict.title", "page.predict"), "class": ("board.title", "page.class")}


def metric(page, label: str) -> str:
    block = page.locator("[data-testid='stMetric']", has_text=label).first
    return block.locator("[data-testid='stMetricValue']").inner_text().strip()


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("path", list(PAGES))
def test_each_url_path_opens_its_page_in_both_languages(page, server, path, lang):
    outside = []
    page.on("request", lambda r: outside.append(r.url) if urlparse(r.url).hostname not in
            ("127.0.0.1", None) and not r.url.startswith("data:") else None)
    page.goto(f"{server}/{path}?lang={lang}")
    wait_for_app(page, 120_000)
    words = CATALOGUES[lang]
    heading, tab = PAGES[path]
    h1 = page.locator("[data-testid='stMain'] h1").first.inner_text().strip()
    assert h1 == (words[heading] if heading else "MNIST Studio")
    assert page.title() == f"{words[tab]} · MNIST Studio"           # the tab names the page
    assert not page.locator("[data-testid='stException']").count()
    sidebar = page.locator("[data-testid='stSidebar']")
    assert sidebar.get_by_text(words["model.kind.bundled"].split("{")[0].strip()).count()
    assert sidebar.get_by_text("MNIST").count() and not sidebar.get_by_text("waiting").count()
    assert not outside, outside                                     # the favicon is ours, offline
    if lang == "zh":
        assert re.search(r"[\u4e00-\u9fff]", page.locator("[data-testid='stMain']").inner_text())
    shot(page, f"{lang}-{path or 'overview'}" if lang == "zh" else path or "overview", docs=True)


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


ANSWER_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    const block = [...document.querySelectorAll('[data-testid="stMetric"]')]
        .find(m => m.innerText.includes('Prediction'));
    const value = block && block.querySelector('[data-testid="stMetricValue"]');
    return (app && app.dataset.testScriptState === "notRunning" && value) ? value.innerText.trim() : null;
}"""


def settled_answer(page, steady_ms: int = 2000, timeout_ms: int = 60_000) -> str:
    """The headline answer once it has stayed the same for `steady_ms` with no run going: the
    canvas sends a drawing once per stroke, so the answer to the first stroke may come first."""
    last, since, waited = None, 0, 0
    while waited < timeout_ms:
        now = page.evaluate(ANSWER_JS)
        if now is not None and now == last:
            since += 250
            if since >= steady_ms:
                return now
        else:
            last, since = now, 0
        page.wait_for_timeout(250)
        waited += 250
    raise AssertionError(f"the answer never settled (last seen: {last!r})")


SEVEN = [[(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]]
ONE = [[(0.5, 0.15), (0.5, 0.85)]]
FOUR = [[(0.35, 0.15), (0.28, 0.55), (0.72, 0.55)], [(0.62, 0.3), (0.62, 0.88)]]


@pytest.mark.parametrize("name, strokes, expected", [("seven", SEVEN, "7"), ("one", ONE, "1"),
                                                     ("four", FOUR, "4")])
def test_drawing_a_digit_with_the_mouse_is_recognised(page, server, name, strokes, expected):
    # The note's network, named in the link (a fresh link answers with the best reader, which
    # withholds this open 4: #17).
    page.goto(f"{server}/predict?model=tutorial")
    wait_for_app(page, 120_000)
    draw(page, strokes)
    assert settled_answer(page) == expected
    wait_for_app(page)
    if name == "four":
        shot(page, "predict", docs=True)
        # Inside the network, computed once a view is chosen: the layers, then the map.
        views = page.get_by_test_id("stButtonGroup").filter(has_text="Map")
        views.get_by_text("Layers", exact=True).click()
        page.get_by_text("hidden · 512 units").first.wait_for(timeout=30_000)
        views.get_by_text("Map", exact=True).click()
        page.wait_for_function(SHOWN_CHARTS_DRAWN_JS, timeout=30_000)
        shot(page, "predict-inside")
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


SHOWN_CHARTS_DRAWN_JS = """() => {
    const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
        .filter(chart => chart.offsetParent !== null);
    return charts.length >= 2 && charts.every(chart => chart.querySelector('canvas, svg'));
}"""


PROGRESS_CHANGED_JS = """(before) => {
    const bar = document.querySelector('[data-testid="stProgress"]');
    if (!bar) throw new Error("the progress bar vanished before it moved");
    return bar.innerText !== before;
}"""


def test_training_live_chart_updates_and_finishes(page, server):
    page.goto(f"{server}/train?epochs=3")
    wait_for_app(page, 120_000)
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Epoch 1/3").first.wait_for(timeout=60_000)
    page.locator("[data-testid='stVegaLiteChart']").first.wait_for(timeout=30_000)
    first_text = page.locator("[data-testid='stProgress']").first.inner_text()
    # The bar must still be there and show other figures: a vanished bar fails, it doesn't pass.
    page.wait_for_function(PROGRESS_CHANGED_JS, arg=first_text, timeout=30_000, polling=250)
    shot(page, "train", docs=True)
    page.get_by_text("finished after").wait_for(timeout=180_000)
    wait_for_app(page)
    success = page.locator("[data-testid='stAlertContentSuccess']").first.inner_text()
    accuracy = re.search(r"Test accuracy (\d+\.\d+%)", success).group(1)
    # The finished run is what Evaluate reports, with its name at the top.
    page.get_by_role("link", name="Evaluate").first.click()
    page.get_by_text("Your run 1").first.wait_for(timeout=60_000)
    wait_for_app(page)
    assert metric(page, "Test accuracy") == accuracy
    assert page.locator("[data-testid='stSidebar']").get_by_text("Your run 1").count()
    shot(page, "evaluate-own-run")
    # Take it home: the run as a notebook, a valid one with the run's settings.
    page.get_by_role("link", name="Train").first.click()
    button = page.get_by_role("button", name="Download as a notebook (.ipynb)")
    button.wait_for(timeout=60_000)
    with page.expect_download(timeout=60_000) as download:
        button.click()
    notebook = json.loads(Path(download.value.path()).read_text("utf-8"))
    code = "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")
    assert notebook["nbformat"] == 4 and "model.fit(train_images, train_labels, epochs=3, batch_size=128)" in code


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_tutorial_shows_the_summary_and_the_one_hot_text(page, server, lang):
    page.goto(f"{server}/tutorial?step=4&lang={lang}")
    wait_for_app(page, 120_000)
    text = page.locator("[data-testid='stMain']").inner_text()
    assert all(count in text for count in ("401,920", "5,130", "407,050"))
    for step in (5, 6, 7):             # one click at a time: each waits for its step to be drawn
        page.get_by_role("button", name=CATALOGUES[lang]["tutorial.next"]).click()
        page.wait_for_url(re.compile(f"step={step}"), timeout=30_000)
        wait_for_app(page)
    page.get_by_text("[0. 0. 0. 0. 0. 0. 0. 1. 0. 0.]").wait_for(timeout=30_000)
    if lang == "zh":
        shot(page, "zh-tutorial", docs=True)


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
        assert not bob.get_by_text("run 1").count()
        assert alice.get_by_text("run 1").count()
    finally:
        alice.context.close()
        bob.context.close()


def test_on_a_phone_the_answer_is_on_screen_after_drawing_by_touch(browser, server):
    """390×844, touch: draw with a finger (touch events), and the answer is visible unscrolled."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True,
                                  is_mobile=True, device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto(f"{server}/predict")
        wait_for_app(page, 120_000)
        canvas = page.locator("canvas.upper-canvas").first
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        assert box["width"] >= 250 and box["y"] + box["height"] <= 844, box   # the whole canvas fits
        points = [(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]                        # a 7, one stroke
        cdp = context.new_cdp_session(page)
        touch = lambda kind, x, y: cdp.send("Input.dispatchTouchEvent", {   # noqa: E731
            "type": kind, "touchPoints": [] if kind == "touchEnd" else
            [{"x": box["x"] + x * box["width"], "y": box["y"] + y * box["height"]}]})
        touch("touchStart", *points[0])
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            for step in range(1, 13):
                touch("touchMove", x0 + (x1 - x0) * step / 12, y0 + (y1 - y0) * step / 12)
        touch("touchEnd", 0, 0)
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-testid=\"stMetricLabel\"]')]"
            ".some(e => e.innerText.includes('Prediction'))", timeout=30_000)
        wait_for_app(page)
        answer = page.locator("[data-testid='stMetric']", has_text="Prediction").first
        answer_box = answer.bounding_box()
        scroll = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollTop")
        assert answer_box["y"] >= 0 and answer_box["y"] + answer_box["height"] <= 844, (answer_box, scroll)
        assert metric(page, "Prediction") == "7"
        # Touch targets. The page's own Clear is full size and empties the canvas. The canvas'
        # toolbar (undo, redo, reset) is the component's: its icons are 22.4 px, under the 24 px
        # minimum, and it has no option to grow them (README: known gap); a smaller one fails here.
        clear = page.get_by_role("button", name="Clear")
        assert clear.bounding_box()["height"] >= 36 and clear.bounding_box()["width"] >= 44
        tools = [b for b in page.locator(".dc-icon-button").all() if b.is_visible()]
        assert {b.get_attribute("title") for b in tools} >= {"Undo", "Redo", "Reset canvas & history"}
        assert all(min(b.bounding_box()["width"], b.bounding_box()["height"]) >= 22 for b in tools)
        page.screenshot(path=str(SCREENSHOTS / "phone-predict.png"))
        clear.tap()
        page.get_by_text("Waiting for a digit").wait_for(timeout=30_000)
    finally:
        context.close()

