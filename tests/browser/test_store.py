"""Runs that last and the class board (issue #20), in headless Chromium against real servers."""

from __future__ import annotations

import re
import time
from urllib.parse import urlparse

import pytest

from mnist_core.runstore import RunStore, database_url, new_secret
from studio.store.identity import COOKIE

from ..stored_runs import seeded_record
from .conftest import shot, start_server, stop_server, wait_for_app

pytestmark = pytest.mark.browser
QUIET = {"MNIST_STUDIO_WARM_START": "0"}     # no warm-up: these servers only need what they use
HOSTILE = "![x](http://203.0.113.9/t) **bold** <i>"     # 37 characters: within the limit


def context_page(browser, cookie_for: str | None = None, secret: str | None = None):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    if secret is not None:
        context.add_cookies([{"name": COOKIE, "value": secret, "url": cookie_for}])
    page = context.new_page()
    outside = []
    page.on("request", lambda r: outside.append(r.url) if urlparse(r.url).scheme in ("http", "https")
            and urlparse(r.url).hostname != "127.0.0.1" else None)
    page.outside = outside
    return page


def seed_run(url: str, secret: str) -> None:
    """A run stored for the learner holding `secret`, so the board test need not train."""
    store = RunStore(url)
    store.save_run(store.learner(secret), seeded_record())
    store.close()


def create_class(page, url: str, name: str) -> tuple[str, str]:
    """A teacher creates a class on the class page: (its code, from the address; the teacher key,
    folded away from the share link until its holder opens it)."""
    page.goto(f"{url}/class")
    wait_for_app(page, 120_000)
    page.get_by_label("Class name").fill(name)
    page.get_by_role("button", name="Create the class").click()
    page.get_by_text("The class is ready.").wait_for(timeout=30_000)
    code = re.search(r"code=([A-Za-z0-9_-]+)", page.url).group(1)
    key = page.locator("[data-testid='stCode']").nth(1)
    assert not key.is_visible()                                            # not on the projector
    page.get_by_text("Your teacher key (not for the projector)").click()   # unfolded by its holder
    key.wait_for(timeout=30_000)
    return code, key.inner_text().strip()


def poll(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.25)


def sidebar_text(page) -> str:
    return page.locator("[data-testid='stSidebar']").inner_text()


def test_a_reload_keeps_the_run_and_a_copied_link_shows_nothing_of_it(browser, mnist_path, tmp_path):
    process, server = start_server(mnist_path, {**QUIET, "MNIST_STUDIO_DATA_DIR": str(tmp_path)})
    alice, bob = context_page(browser), context_page(browser)
    try:
        alice.goto(f"{server}/train?epochs=1")
        wait_for_app(alice, 120_000)
        assert "saved for 30 days" in sidebar_text(alice)
        alice.get_by_role("button", name="Start training").click()
        alice.get_by_text("finished after").wait_for(timeout=180_000)
        stored = RunStore(f"sqlite:///{tmp_path / 'mnist-studio.sqlite3'}")
        poll(lambda: stored.counts()["runs"] == 1, "the finished run reached the store")
        cookie = next(c for c in alice.context.cookies() if c["name"] == COOKIE)
        assert len(cookie["value"]) >= 43 and cookie["sameSite"] == "Strict"    # >= 256 bits
        link = alice.url
        assert cookie["value"] not in link
        alice.reload()
        wait_for_app(alice, 120_000)
        poll(lambda: "Your run 1" in sidebar_text(alice), "the run came back after the reload")
        # Its source in the run history (the data grid draws its cells once it has laid itself out).
        poll(lambda: alice.get_by_text("saved on this browser").count() > 0, "the table names its source")
        # Bob opens the very link Alice copied: a different browser, a different learner.
        bob.goto(link)
        wait_for_app(bob, 120_000)
        assert "run 1" not in sidebar_text(bob)
        assert bob.get_by_text("Runs you train (or models you upload) appear here").count()
        assert not [c for c in bob.context.cookies() if c["value"] == cookie["value"]]
        # Forget me: the stored run is gone; this tab keeps its model until it closes.
        alice.get_by_role("button", name="Forget me").click()
        alice.get_by_role("button", name="Delete my saved runs").click()
        alice.get_by_text("Your saved runs were deleted").wait_for(timeout=30_000)
        new_cookie = next(c for c in alice.context.cookies() if c["name"] == COOKIE)
        assert new_cookie["value"] != cookie["value"]
        alice.reload()
        wait_for_app(alice, 120_000)
        assert "run 1" not in sidebar_text(alice)
        assert stored.counts()["runs"] == 0
        assert alice.outside == [] and bob.outside == []
    finally:
        alice.context.close()
        bob.context.close()
        stop_server(process)


def test_a_class_board_across_two_servers_sharing_postgresql(browser, mnist_path, pg_cluster, tmp_path):
    """Teacher on one server, learner on another, one PostgreSQL: publish, watch, hide, open."""
    url = pg_cluster.new_database()
    secret = new_secret()
    seed_run(database_url({"DATABASE_URL": url}, tmp_path), secret)
    env = {**QUIET, "DATABASE_URL": url}
    (first, server_a), (second, server_b) = start_server(mnist_path, env), start_server(mnist_path, env)
    teacher, learner = context_page(browser), context_page(browser, server_b, secret)
    try:
        code, key = create_class(teacher, server_a, "Maths <b>3B</b>")
        assert teacher.locator("[data-testid='stCode']").first.inner_text().strip().endswith(f"/class?code={code}")
        assert teacher.get_by_text("Maths <b>3B</b>").count()           # shown as typed
        shot(teacher, "class-created")

        learner.goto(f"{server_b}/class?code={code}")
        wait_for_app(learner, 120_000)
        learner.get_by_label("Name shown on the board").fill(HOSTILE)
        learner.get_by_role("button", name="Publish").click()
        learner.get_by_text("Published: it is on the board now.").wait_for(timeout=30_000)

        # The teacher's board, on the other server, shows it within a refresh, as plain text.
        teacher.locator("[data-testid='stDataFrame']").first.wait_for(timeout=30_000)
        wait_for_app(teacher)
        board = teacher.locator("[data-testid='stMain']")
        teacher.wait_for_function("() => document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]').length >= 3",
                                  timeout=30_000)
        assert teacher.get_by_text("4 read as 9: 40 times").count()
        assert not board.locator("img[src*='203.0.113.9'], strong:has-text('bold'), i").count()
        picked = teacher.get_by_role("combobox", name="Open a published run (read-only)").input_value()
        assert picked == f"#1 {HOSTILE}"                                # the name, as typed
        shot(teacher, "class-board", docs=True)

        # Anyone with the code opens the run, read-only, in Evaluate.
        learner.get_by_role("button", name="Open in Evaluate").click()
        learner.get_by_text("Published: class run #1").first.wait_for(timeout=120_000)
        wait_for_app(learner, 120_000)

        # The teacher hides it; the learner's board (other server) no longer shows it.
        teacher.get_by_role("button", name="Hide this entry").click()
        teacher.get_by_text("No runs on this board yet.").wait_for(timeout=30_000)
        learner.goto(f"{server_b}/class?code={code}")
        wait_for_app(learner, 120_000)
        learner.get_by_text("No runs on this board yet.").wait_for(timeout=30_000)
        teacher.get_by_role("button", name="Close the class").click()
        teacher.get_by_text("This class is closed").wait_for(timeout=30_000)
        assert key not in teacher.url and key not in learner.url
        assert teacher.outside == [] and learner.outside == []
    finally:
        teacher.context.close()
        learner.context.close()
        stop_server(first)
        stop_server(second)


def test_without_its_database_the_app_says_so_and_keeps_working(browser, mnist_path, tmp_path):
    """A damaged SQLite file at start, and PostgreSQL stopped mid-session: a message, no traceback,
    and a run trained meanwhile still becomes the active model."""
    from ..pgcluster import Cluster
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "mnist-studio.sqlite3").write_bytes(b"not a database" * 2000)
    process, server = start_server(mnist_path, {**QUIET, "MNIST_STUDIO_DATA_DIR": str(damaged)})
    page = context_page(browser)
    try:
        page.goto(f"{server}/class")
        wait_for_app(page, 120_000)
        assert page.get_by_text("the run store is unavailable (the database file is damaged)").count()
        assert not page.locator("[data-testid='stException']").count()
    finally:
        stop_server(process)

    with Cluster() as cluster:
        url = cluster.new_database()
        process, server = start_server(mnist_path, {**QUIET, "DATABASE_URL": url})
        try:
            page.goto(f"{server}/train?epochs=1")
            wait_for_app(page, 120_000)
            assert "saved for 30 days" in sidebar_text(page)
            cluster.stop()
            page.get_by_role("button", name="Start training").click()
            page.get_by_text("could not be saved for later").wait_for(timeout=180_000)
            wait_for_app(page)
            assert "Your run 1" in sidebar_text(page)
            page.goto(f"{server}/class?code=abcdefghijklmnopqrstuv")
            wait_for_app(page, 120_000)
            assert page.get_by_text("The run store is unavailable").count()
            assert not page.locator("[data-testid='stException']").count()
        finally:
            page.context.close()
            stop_server(process)


def test_two_tabs_of_a_first_visit_are_one_learner(browser, mnist_path, tmp_path):
    """Each tab of a first visit made its own secret and wrote its own cookie, splitting the
    learner (#25): the second tab adopts the cookie the first wrote."""
    process, server = start_server(mnist_path, {**QUIET, "MNIST_STUDIO_DATA_DIR": str(tmp_path)})
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        tabs = [context.new_page(), context.new_page()]
        for tab in tabs:                                # both before either wrote a cookie
            tab.goto(f"{server}/class", wait_until="commit")
        for tab in tabs:
            wait_for_app(tab, 120_000)
        for number, tab in enumerate(tabs):             # each tab makes a learner row (a class)
            tab.get_by_label("Class name").fill(f"Class {number}")
            tab.get_by_role("button", name="Create the class").click()
            tab.get_by_text("Share this link").wait_for(timeout=60_000)
        [cookie] = [c for c in context.cookies() if c["name"] == COOKIE]
        store = RunStore(database_url({}, tmp_path))
        try:
            assert store.counts()["learners"] == 1 and store.counts()["classes"] == 2
            assert store.learner(cookie["value"], create=False) is not None   # the cookie is that learner
        finally:
            store.close()
    finally:
        context.close()
        stop_server(process)
