"""Our class's handwriting (issue #28) in headless Chromium: the teacher projects a join code, two
learners draw a round each (one joins by the code, one by the link), and the board shows both
bundled models' accuracy on the class's 20 drawings, as Keras computes it from the stored set."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mnist_core import storage
from mnist_core.drawings.strokes import DIGITS
from mnist_core.runstore import RunStore
from mnist_core.runstore.handwriting import Handwriting

from .conftest import shot, start_server, stop_server, wait_for_app
from .test_store import QUIET, context_page, create_class

pytestmark = pytest.mark.browser


def draw_digit(page, digit: int, style: int, slant: float = 0.0) -> None:
    """One of mnist_core.drawings.strokes' digit styles, drawn with the mouse in the canvas' middle
    (`slant`: the top leans right by this share of the height, as many hands do)."""
    canvas = page.locator("canvas.upper-canvas").first
    canvas.wait_for(timeout=30_000)
    box = canvas.bounding_box()
    for stroke in DIGITS[digit][style % len(DIGITS[digit])]:
        points = [(box["x"] + (0.3 + 0.4 * x + slant * (0.5 - y)) * box["width"],
                   box["y"] + (0.12 + 0.76 * y) * box["height"]) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=3)
        page.mouse.up()
        page.wait_for_timeout(250)


def draw_round(page, style: int, slant: float) -> list[int]:
    """Draw the ten digits the page asks for, in its order -> that order. (The page is made tall
    enough to show the canvas unscrolled: the mouse draws where the canvas is on screen.)"""
    page.set_viewport_size({"width": 1400, "height": 2200})
    page.get_by_role("tab", name="Our handwriting").click()
    asked = []
    for _ in range(10):
        heading = page.locator("h3", has_text="Draw a").first
        heading.wait_for(timeout=60_000)
        wait_for_app(page)
        digit = int(re.search(r"Draw a (\d)", heading.inner_text()).group(1))
        asked.append(digit)
        draw_digit(page, digit, style, slant)
        wait_for_app(page)
        page.get_by_role("button", name="Keep", exact=True).click()
        wait_for_app(page)
        anyway = page.get_by_role("button", name=re.compile("Keep it anyway"))
        if anyway.count():                       # the best reader saw no digit: shown once, kept
            anyway.click()
            wait_for_app(page)
    page.get_by_text("Round done: 10 of your drawings").wait_for(timeout=30_000)
    return asked


def test_two_learners_draw_a_round_each_and_the_board_measures_both_bundled_models(browser, mnist_path, tmp_path):
    process, server = start_server(mnist_path, {**QUIET, "MNIST_STUDIO_DATA_DIR": str(tmp_path)})
    teacher, alice, bob = context_page(browser), context_page(browser), context_page(browser)
    try:
        code, key = create_class(teacher, server, "Maths 3B")
        teacher.get_by_text("Projector view").click()
        projector = teacher.locator(".st-key-hand_projector")
        projector.get_by_role("img").wait_for(timeout=30_000)
        join = projector.locator("h1").inner_text().strip()
        assert re.fullmatch(r"[A-Z2-9]{6}", join) and key not in projector.inner_text()

        alice.goto(f"{server}/class")                     # joins by typing the projector's code
        wait_for_app(alice, 120_000)
        alice.get_by_label("Class code or join code").fill("AAAAAA")
        alice.get_by_role("button", name="Open").click()
        alice.get_by_text("There is no class with this join code").wait_for(timeout=30_000)
        alice.get_by_label("Class code or join code").fill(join.lower())
        alice.get_by_role("button", name="Open").click()
        alice.get_by_text("Maths 3B").first.wait_for(timeout=60_000)
        assert f"code={code}" in alice.url
        bob.goto(f"{server}/class?code={code}")           # opens the link
        wait_for_app(bob, 120_000)
        for page, style, slant in ((alice, 0, 0.0), (bob, 2, 0.25)):
            assert sorted(draw_round(page, style, slant)) == list(range(10))

        stored = RunStore(f"sqlite:///{tmp_path / 'mnist-studio.sqlite3'}")
        drawn = Handwriting(stored).set(code)
        assert len(drawn) == 20 and sorted(drawn.labels) == sorted(list(range(10)) * 2)
        expected = {}
        for name, path in (("the note's network", storage.NOTE_NETWORK), ("best CNN", storage.BEST_READER)):
            model, _ = storage.load_model(path)
            said = model.predict(drawn.images.reshape((-1,) + model.input_shape[1:]) / 255, verbose=0)
            expected[name] = float(np.mean(said.argmax(axis=1) == drawn.labels))

        teacher.get_by_role("tab", name="Our handwriting").click()
        teacher.get_by_text("20 drawings by 2 learners").wait_for(timeout=60_000)
        for name, accuracy in expected.items():
            metric = teacher.locator("[data-testid='stMetric']", has_text=f"{name} on our handwriting")
            metric.wait_for(timeout=60_000)
            # The view shows what the worker has read so far ("Reading the N newest drawings…")
            # and redraws live: wait for the whole set, then the figure must be Keras' own.
            teacher.get_by_text("newest drawings").wait_for(state="detached", timeout=90_000)
            assert f"{accuracy:.1%}" in metric.inner_text(), (name, metric.inner_text(), expected)
        wait_for_app(teacher)
        shot(teacher, "class-handwriting", docs=True)
        assert teacher.outside == [] and alice.outside == [] and bob.outside == []
    finally:
        for page in (teacher, alice, bob):
            page.context.close()
        stop_server(process)
