"""The first minute, as the README starts it (issue #25): `streamlit run streamlit_app.py`, and the
class opens Train, Predict and Evaluate at once the moment /_stcore/health answers. Two threads
importing TensorFlow at once (the warm-up and a page) deadlocked inside its import graph and left
Train broken until a restart; five cold starts in a row must each serve all three pages. (This
failed on its first cold start before warmup.import_keras.)"""

from __future__ import annotations

import sys

from .conftest import ARTIFACTS, SETTLED_JS, start_server, stop_server, wait_for_app

README_COMMAND = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py"]
PAGES = ("/train?arch=dense", "/predict", "/evaluate")
COLD_STARTS = 5
# Settled, or showing an error (an error page never settles: fail at once, not after a timeout).
SETTLED_OR_BROKEN = ("() => !!document.querySelector('[data-testid=\"stException\"]') || (%s)()"
                     % SETTLED_JS)
BROKEN = ("_DeadlockError", "Registering two gradient", "has no attribute", "Traceback")


def test_five_cold_starts_of_the_readme_command_serve_three_pages_opened_at_once(browser, mnist_path, tmp_path):
    for start in range(COLD_STARTS):
        process, url = start_server(mnist_path, command=README_COMMAND,
                                    extra_env={"MNIST_STUDIO_DATA_DIR": str(tmp_path / f"store-{start}")})
        try:
            contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in PAGES]
            pages = [context.new_page() for context in contexts]
            for page, path in zip(pages, PAGES):      # all three sessions start before any finishes
                page.goto(url + path, wait_until="commit")
            for page, path in zip(pages, PAGES):
                page.wait_for_selector("[data-testid='stApp']", timeout=240_000)
                page.wait_for_timeout(400)
                page.wait_for_function(SETTLED_OR_BROKEN, timeout=240_000, polling=200)
                errors = page.locator("[data-testid='stException']")
                assert not errors.count(), (start, path, errors.first.inner_text())
                text = page.inner_text("body")
                assert "encountered an error" not in text, (start, path)
                # The store opens at launch: never "unavailable" without a reason while it opens.
                assert "unavailable ()" not in text, (start, path)
            train = pages[0]
            train.reload()                             # a later visit to Train, after the race
            wait_for_app(train, timeout=240_000)
            assert train.get_by_role("button", name="Start training").count() == 1, start
            for context in contexts:
                context.close()
        finally:
            stop_server(process)
        log = (ARTIFACTS / f"server-{url.rsplit(':', 1)[1]}.log").read_text(errors="replace")
        assert not [word for word in BROKEN if word in log], (start, log[-3000:])
