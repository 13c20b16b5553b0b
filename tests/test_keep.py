"""Runs that last, on the Streamlit side (studio.store, the class page) through AppTest."""

from __future__ import annotations

import re

import pytest

from mnist_core.runstore import RunStore, new_secret
from studio.store import opening
from studio.ui.markdown import plain

from streamlit.testing.v1 import AppTest

from .stored_runs import seeded_record
from .test_app import APP, TIMEOUT, open_page

HOSTILE = "![x](http://203.0.113.9/t) **b** <i>"


@pytest.fixture(autouse=True)
def fresh_store(tmp_path, monkeypatch, mnist_path):
    """Each test its own SQLite file, and the app's process-wide store opened anew."""
    monkeypatch.setenv("MNIST_DATA", str(mnist_path))
    monkeypatch.setenv("MNIST_STUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(opening, "_store", None)
    monkeypatch.setattr(opening, "_failure", None)
    monkeypatch.setattr(opening, "_opening", False)
    monkeypatch.setattr(opening, "_settled", __import__("threading").Event())
    return tmp_path


def as_browser(secret: str, page: str, **query) -> AppTest:
    """A new session of the browser whose cookie holds `secret`, on `page`."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["keep_secret"] = secret          # what identity.secret() reads from the cookie
    at.run()
    at.switch_page(f"app_pages/{page}.py")
    for name, value in query.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def store_at(folder) -> RunStore:
    return RunStore(f"sqlite:///{folder / 'mnist-studio.sqlite3'}")


@pytest.mark.parametrize("text", [HOSTILE, "a_b*c`d[e](f)#g<h>|i$j:k~l\\m", "plain 名字 123"])
def test_plain_escapes_every_markdown_mark_and_keeps_the_text(text):
    escaped = plain(text)
    assert re.sub(r"\\(.)", r"\1", escaped) == text
    assert not re.search(r"(?<!\\)[!*_`\[\]()#<>|$:~]", escaped.replace("\\\\", ""))


def test_a_stored_run_comes_back_in_a_new_session_of_the_same_browser_only(fresh_store):
    secret = new_secret()
    store = store_at(fresh_store)
    store.save_run(store.learner(secret), seeded_record())
    at = as_browser(secret, "train")
    assert not at.exception, [e.value for e in at.exception]
    assert any("Your run 1 · dense" in m.value for m in at.sidebar.markdown)
    assert at.session_state["studio"].active_key == "run-1"
    stranger = open_page("train")                     # another browser: a new secret, nothing of it
    assert not any("run 1" in m.value for m in stranger.sidebar.markdown)


def test_the_class_page_creates_publishes_and_hides_with_hostile_names(fresh_store):
    at = open_page("class_board")
    at.text_input[0].input("Maths " + HOSTILE)
    at.button[0].click().run()                        # Create the class
    assert not at.exception
    code = at.query_params["code"]
    key = at.session_state["board_keys"][code]
    assert [c.value for c in at.code][:2] == [f"/class?code={code}", key]
    # The key is folded away from the link (a projector shows the link to the class, never the key).
    [folded] = [e for e in at.expander if e.label == "Your teacher key (not for the projector)"]
    assert [c.value for c in folded.code] == [key] and not folded.proto.expanded
    assert at.header[0].value == plain("Maths " + HOSTILE)         # escaped: shown as typed
    # A learner with a saved run publishes it under a hostile name.
    store = store_at(fresh_store)
    secret = new_secret()
    store.save_run(store.learner(secret), seeded_record())
    learner = as_browser(secret, "class_board", code=code)
    name_box = next(w for w in learner.text_input if w.label == "Name shown on the board")
    name_box.input(HOSTILE)
    next(b for b in learner.button if b.label == "Publish").click().run()
    assert not learner.exception and not learner.error
    board = store.board(code)
    assert [e.display_name for e in board] == [HOSTILE]
    # The teacher's session hides it with the key it holds.
    at.run()
    assert f"#1 {HOSTILE}" in at.selectbox(key="board_hide").options
    next(b for b in at.button if b.label == "Hide this entry").click().run()
    assert store.board(code) == []


def test_without_a_store_the_pages_say_so_and_work(fresh_store):
    (fresh_store / "mnist-studio.sqlite3").write_bytes(b"not a database" * 1000)
    for page in ("train", "class_board"):
        at = open_page(page)
        warnings = [w.value for w in at.warning] + [w.value for w in at.sidebar.warning]
        # Why, in the visitor's words: the driver's own text ("file is not a database") stays in the log.
        assert any("run store is unavailable (the database file is damaged)" in w for w in warnings), warnings
        assert not any("not a database" in w for w in warnings), warnings
        assert not at.exception


def test_the_store_is_tried_again_in_the_background_and_comes_back(fresh_store):
    import time
    damaged = fresh_store / "mnist-studio.sqlite3"
    damaged.write_bytes(b"not a database" * 1000)
    assert opening.get_store() is None and opening.problem() == "the database file is damaged"
    damaged.unlink()                                     # repaired
    assert opening.get_store() is None                      # not retried before RETRY_SECONDS
    opening._failure = (time.monotonic() - opening.RETRY_SECONDS - 1, opening._failure[1])
    started = time.monotonic()
    assert opening.get_store() is None                      # the retry runs on its own thread
    assert time.monotonic() - started < 0.5
    deadline = time.monotonic() + 30
    while opening.get_store() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert opening.problem() is None and opening.get_store().counts()["runs"] == 0


def test_a_visitor_who_arrives_while_the_store_opens_is_told_so_then_waits_for_it(fresh_store, monkeypatch):
    """30 sessions opening Train on a fresh server were told "the run store is unavailable ()"
    while it opened on a page thread (#25): it opens at launch, on its own thread."""
    import threading
    import time
    from mnist_core import runstore
    gate, real_open = threading.Event(), runstore.open_store
    monkeypatch.setattr(runstore, "open_store", lambda: gate.wait(30) and real_open())
    opening.open_at_launch()
    started = time.monotonic()
    assert opening.get_store() is None and time.monotonic() - started < 0.5     # no page waits on it
    assert opening.problem() == "the run store is still opening; your saved runs come back in a moment"
    said = opening.unavailable_text()        # what the sidebar and the class page show meanwhile
    assert "still opening" in said and "unavailable" not in said and "()" not in said
    gate.set()
    assert opening.get_store(wait=10) is not None and opening.problem() is None
