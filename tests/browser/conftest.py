"""A real server and a real browser (bench/server.py starts them, for the benchmarks too)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.server import ARTIFACTS, CHROMIUM_FLAGS, SETTLED_JS, start_server, stop_server, wait_for_app  # noqa: F401

from ..conftest import ROOT

SCREENSHOTS = ROOT / "docs" / "screenshots"    # the README's pictures, retaken by every run


@pytest.fixture(scope="session")
def server(mnist_path):
    ARTIFACTS.mkdir(exist_ok=True)
    process, url = start_server(mnist_path)
    yield url
    stop_server(process)


@pytest.fixture(scope="session")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


def shot(page, name: str, height: int = 2000, docs: bool = False) -> Path:
    """A screenshot of the whole page. Streamlit scrolls inside its own container, so the viewport
    is made tall enough to hold the page instead of relying on full_page. With `docs`, it replaces
    the README's picture of the same name (commit it when the UI has changed)."""
    path = (SCREENSHOTS if docs else ARTIFACTS) / f"{name}.png"
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": height})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
    return path
