"""Accessibility (#19, #27) as axe-core checks it: WCAG 2.0 / 2.1 A and AA, and the order of the
headings, with no violation of any impact, in both languages, on every page and every view a
visitor can open (each tutorial step, Predict's three inputs, its panels and every Inside view, the
class board with entries, a finished run); and a keyboard-only path from the tutorial's first step
to a trained run and a reading of test image 1."""

import pytest

from mnist_core.runstore import database_url, new_secret
from studio.store.identity import COOKIE

from bench.server import wait_warm

from .conftest import start_server, stop_server, wait_for_app
from .test_store import create_class, seed_run
from .test_browser import CATALOGUES, SEVEN, draw

pytestmark = pytest.mark.browser

TUTORIAL_STEPS = 10
PAGES = {"overview": "/", **{f"tutorial step {n}": f"/tutorial?step={n}" for n in range(1, TUTORIAL_STEPS + 1)},
         "explore": "/explore", "explore, training split": "/explore?split=train&index=5",
         "train": "/train", "evaluate": "/evaluate", "predict, draw": "/predict",
         "predict, test image": "/predict?source=test&index=1", "predict, upload": "/predict?source=upload",
         "class, no class yet": "/class"}
# What schools ask for (WCAG 2.0 / 2.1, levels A and AA), and headings that go down one level at a time.
AXE = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
       "rules": {"heading-order": {"enabled": True}}, "resultTypes": ["violations"]}
INSIDE_VIEWS = ("layers", "evidence", "neighbours", "map", "break")


def violations(page) -> str:
    """axe-core's findings on the page as it is now, any impact, one line each ('' when none)."""
    from axe_playwright_python.sync_playwright import Axe
    found = Axe().run(page, options=AXE).response["violations"]
    return "\n".join(f"{v['impact']}: {v['id']} ({len(v['nodes'])}×) e.g. {v['nodes'][0]['html'][:160]}"
                     for v in found)


def open_expander(page, title: str) -> None:
    page.locator("[data-testid='stExpander'] summary", has_text=title).first.click()


def open_views(page, lang: str) -> dict:
    """Open each view on a page in turn (its words from the catalogue), checking after each one."""
    words, found = CATALOGUES[lang], {}
    for view in INSIDE_VIEWS:
        page.get_by_role("radio", name=words[f"inside.tab.{view}"]).click()
        wait_for_app(page, 600_000)
        found[view] = violations(page)
    return found


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("name", list(PAGES))
def test_no_violation_on_any_page(page, server, name, lang):
    path = PAGES[name]
    page.goto(f"{server}{path}{'&' if '?' in path else '?'}lang={lang}")
    wait_for_app(page, 120_000)
    assert violations(page) == ""


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_violation_in_any_view_predict_opens(page, server, lang):
    """Every Inside view and every panel of a test image; a drawing's own panels (its steps, Teach it)."""
    words = CATALOGUES[lang]
    wait_warm(server)        # the neighbour index and the map are built at launch (minutes on a busy machine)
    page.goto(f"{server}/predict?source=test&index=1&lang={lang}")
    wait_for_app(page, 120_000)
    found = open_views(page, lang)            # ends on Break it: switch every unit off (End), see its layers
    page.get_by_role("slider", name=words["inside.break.off"]).focus()
    page.keyboard.press("End")
    page.locator("[data-testid='stExpander'] summary", has_text=words["inside.break.layers"]).wait_for(timeout=120_000)
    open_expander(page, words["inside.break.layers"])
    open_expander(page, words["predict.compare"])
    wait_for_app(page, 120_000)
    found["broken, its layers, compare"] = violations(page)
    page.goto(f"{server}/predict?lang={lang}")
    wait_for_app(page, 120_000)
    draw(page, SEVEN)
    page.locator("[data-testid='stMetric']").first.wait_for(timeout=60_000)
    open_expander(page, words["predict.inspector.title"])
    open_expander(page, words["teach.title"])
    wait_for_app(page, 120_000)
    found["a drawing, its steps, Teach it"] = violations(page)
    assert {view: text for view, text in found.items() if text} == {}


def test_no_violation_on_a_class_board_with_entries(browser, mnist_path, tmp_path):
    """A class created, a run published (a stored run: nothing to train), the board and the
    teacher's controls drawn; in both languages. A server of its own: its store is this test's."""
    secret = new_secret()
    env = {"MNIST_STUDIO_WARM_START": "0", "MNIST_STUDIO_DATA_DIR": str(tmp_path)}
    seed_run(database_url(env, tmp_path), secret)
    process, url = start_server(mnist_path, env)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_cookies([{"name": COOKIE, "value": secret, "url": url}])
    page = context.new_page()
    found = {}
    try:
        code, key = create_class(page, url, "Maths 3B")
        wait_for_app(page)
        found["created"] = violations(page)
        page.get_by_label("Name shown on the board").fill("Ada")
        page.get_by_role("button", name="Publish").click()
        page.get_by_text("Published: it is on the board now.").wait_for(timeout=30_000)
        for lang in ("en", "zh"):
            page.goto(f"{url}/class?code={code}&lang={lang}")
            page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=60_000)
            open_expander(page, CATALOGUES[lang]["board.teacher"])
            page.get_by_label(CATALOGUES[lang]["board.teacher.key"]).fill(key)
            page.keyboard.press("Enter")
            page.get_by_role("button", name=CATALOGUES[lang]["board.teacher.hide"]).wait_for(timeout=30_000)
            wait_for_app(page, 120_000)
            found[f"board, teacher, {lang}"] = violations(page)
    finally:
        context.close()
        stop_server(process)
    assert {view: text for view, text in found.items() if text} == {}


def test_pictures_of_digits_say_which_digit(page, server):
    page.goto(f"{server}/explore?lang=en&split=test&index=0")
    wait_for_app(page, 120_000)
    alts = page.locator("[data-testid='stMain'] img").evaluate_all("images => images.map(i => i.alt)")
    assert alts and all(alts), alts
    assert any("7" in alt for alt in alts)                  # test image 0 is a 7, and says so


def tab_to(page, target, presses: int = 120) -> None:
    """Press Tab until `target` has the focus, as a keyboard user would get there."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {target}")


def prediction(page) -> str:
    return page.locator("[data-testid='stMetric']", has_text="Prediction").first.locator(
        "[data-testid='stMetricValue']").inner_text().strip()


def test_the_tutorial_to_a_trained_run_and_a_reading_of_test_image_1_by_keyboard_alone(browser, server):
    """From the tutorial's first step, Tab and Enter only: Next to the training step, train the
    note's network, on to its prediction of test image 1; then to Predict, where the trained run
    answers: test image 0 (a 7), then test image 1 (a 2), typed into the index field."""
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    try:
        page.goto(f"{server}/tutorial?step=1&lang=en")
        wait_for_app(page, 120_000)

        def next_step(step: int) -> None:
            tab_to(page, page.get_by_role("button", name="Next"))
            page.keyboard.press("Enter")
            page.wait_for_url(f"**step={step}**", timeout=30_000)
            wait_for_app(page)

        for step in range(2, 9):              # to "8 · Train"
            next_step(step)
        tab_to(page, page.get_by_role("button", name="Train it as the note does"))
        page.keyboard.press("Enter")
        page.get_by_text("finished after").wait_for(timeout=600_000)
        wait_for_app(page, 120_000)
        assert violations(page) == ""         # a finished run: its charts, its growth, its log
        next_step(9)
        next_step(10)
        code = page.locator("[data-testid='stCode']").all_inner_texts()
        assert any("print(res[1].argmax())\n# 2" in block for block in code), code   # the trained run reads a 2

        tab_to(page, page.locator("[data-testid='stSidebarNav'] a", has_text="Predict"))
        page.keyboard.press("Enter")
        page.wait_for_url("**/predict**", timeout=30_000)
        wait_for_app(page, 120_000)
        assert "Your run 1" in page.locator("[data-testid='stMain']").inner_text()   # it answers here
        tab_to(page, page.get_by_role("radio", name="Draw"))
        page.keyboard.press("ArrowRight")     # a radio group: arrows move within it
        choice = page.get_by_role("radio", name="Test image")
        if choice.get_attribute("aria-checked") != "true":
            page.keyboard.press("Space")
        field = page.get_by_label("Test image index")
        field.wait_for(timeout=30_000)
        wait_for_app(page)
        for index, digit in (("0", "7"), ("1", "2")):     # 1 is the default: 0 first, so typing 1 changes it
            tab_to(page, field)
            page.keyboard.press("Control+A")
            page.keyboard.type(index)
            page.keyboard.press("Enter")
            page.wait_for_url(f"**index={index}**", timeout=30_000)
            wait_for_app(page, 120_000)
            assert prediction(page) == digit
    finally:
        page.context.close()
