"""WCAG 2.1 AA as axe-core checks it (#19), on every page in both languages, and the keyboard paths."""

import pytest

from .conftest import wait_for_app

pytestmark = pytest.mark.browser

PAGES = {"overview": "/", "tutorial step": "/tutorial?step=4", "explore": "/explore",
         "train": "/train", "evaluate": "/evaluate", "predict": "/predict?source=test&index=1"}
# WCAG 2.0 / 2.1, levels A and AA: what schools ask for.
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
           "resultTypes": ["violations"]}


def summary(violations) -> str:
    return "\n".join(f"{v['impact']}: {v['id']} ({len(v['nodes'])}×) e.g. {v['nodes'][0]['html'][:160]}"
                     for v in violations)


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("name", list(PAGES))
def test_no_critical_or_serious_violations(page, server, name, lang):
    from axe_playwright_python.sync_playwright import Axe
    path = PAGES[name]
    page.goto(f"{server}{path}{'&' if '?' in path else '?'}lang={lang}")
    wait_for_app(page, 120_000)
    violations = Axe().run(page, options=WCAG_AA).response["violations"]
    bad = [v for v in violations if v["impact"] in ("critical", "serious")]
    assert not bad, summary(bad)


def test_pictures_of_digits_say_which_digit(page, server):
    page.goto(f"{server}/explore?lang=en&split=test&index=0")
    wait_for_app(page, 120_000)
    alts = page.locator("[data-testid='stMain'] img").evaluate_all("images => images.map(i => i.alt)")
    assert alts and all(alts), alts
    assert any("7" in alt for alt in alts)                  # test image 0 is a 7, and says so


def tab_to(page, target, presses: int = 80) -> None:
    """Press Tab until `target` has the focus, as a keyboard user would get there."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {target}")


def test_predicts_test_image_path_works_from_the_keyboard(page, server):
    """Tab to the source choice (a radio group: arrows move within it), pick "Test image", type an
    index: the answer follows, no mouse."""
    page.goto(f"{server}/predict?lang=en")
    wait_for_app(page, 120_000)
    tab_to(page, page.get_by_role("radio", name="Draw"))
    page.keyboard.press("ArrowRight")
    choice = page.get_by_role("radio", name="Test image")
    if choice.get_attribute("aria-checked") != "true":
        page.keyboard.press("Space")
    field = page.get_by_label("Test image index")
    field.wait_for(timeout=30_000)
    tab_to(page, field)
    page.keyboard.press("Control+A")
    page.keyboard.type("1")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stMetric\"]')].some(m => "
        "m.innerText.includes('Prediction') && m.querySelector('[data-testid=\"stMetricValue\"]')"
        ".innerText.trim() === '2')", timeout=30_000)


def test_the_tutorial_works_from_the_keyboard(page, server):
    page.goto(f"{server}/tutorial?step=1&lang=en")
    wait_for_app(page, 120_000)
    for step in (2, 3):
        tab_to(page, page.get_by_role("button", name="Next"))
        page.keyboard.press("Enter")
        page.wait_for_url(f"**step={step}**", timeout=30_000)
        wait_for_app(page)
