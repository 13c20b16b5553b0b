"""A class's own handwriting in the store (issue #28): bounds, refusals, deletion and join codes, the
same tests against SQLite and a real PostgreSQL server (the fixtures of test_runstore)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mnist_core.drawings import classset
from mnist_core.runstore import StoreError, bounds, new_secret
from mnist_core.runstore.handwriting import Handwriting

from .test_runstore import clock, store, url  # noqa: F401 (fixtures)


def strokes(x: float = 140) -> dict:
    """The canvas' json_data for one vertical stroke, as Fabric's pencil sends it."""
    return {"version": "7.4.0", "objects": [
        {"type": "Path", "left": x - 10, "top": 30, "strokeWidth": 20, "stroke": "#1e1b4b", "fill": None,
         "path": [["M", x, 30], ["Q", x, 30, x + 0.5, 140], ["L", x, 250]]}]}


def image(column: int = 14) -> np.ndarray:
    picture = np.zeros((28, 28), np.float32)
    picture[4:24, column - 1:column + 2] = 1.0
    return picture


@pytest.fixture()
def hand(store):
    return Handwriting(store)


@pytest.fixture()
def klass(store):
    teacher = store.learner(new_secret())
    return store.create_class(teacher, "3B")


def test_a_drawing_is_kept_as_given_and_read_back_by_the_class(store, hand, klass):
    code, _ = klass
    alice = store.learner(new_secret())
    first = hand.add(alice, code, 1, image(), strokes())
    second = hand.add(alice, code, 7, image(10), strokes(90), withheld=True)
    got = hand.set(code, learner_id=alice, strokes=True)
    assert list(got.ids) == [first, second] and list(got.labels) == [1, 7]
    assert np.array_equal(got.images[0], np.round(image() * 255).astype(np.uint8))
    assert list(got.withheld) == [False, True] and list(got.owner) == [True, True]
    kept = got.strokes[0]["objects"][0]
    assert kept["path"] == [["M", 140.0, 30.0], ["Q", 140.0, 30.0, 140.5, 140.0], ["L", 140.0, 250.0]]
    assert "stroke" not in kept and kept["strokeWidth"] == 20      # allow-listed fields only
    assert list(got.learners) == [1, 1]
    other_code, _ = store.create_class(None, "4C")
    assert len(hand.set(other_code)) == 0                            # the class's set only
    with pytest.raises(StoreError) as refused:
        hand.set("a-code-nobody-was-given-000")
    assert refused.value.code == "no_such_class"


@pytest.mark.parametrize("label, picture, canvas, code", [
    (10, image(), strokes(), "label_out_of_range"),
    (-1, image(), strokes(), "label_out_of_range"),
    (True, image(), strokes(), "label_out_of_range"),
    ("3", image(), strokes(), "label_out_of_range"),
    (3, np.zeros((28, 28)), strokes(), "blank"),
    (3, image(), {"objects": []}, "blank"),
    (3, np.ones((20, 20)), strokes(), "not_a_canvas"),
    (3, np.full((28, 28), np.nan), strokes(), "not_a_canvas"),
    (3, image(), "data:image/png;base64,AAAA", "not_a_canvas"),
    (3, image(), {"objects": [{"type": "image", "src": "http://203.0.113.9/x.png"}]}, "not_a_canvas"),
    (3, image(), {"objects": [{"type": "path", "path": [["M", 1, 2], ["eval", "alert(1)"]]}]}, "not_a_canvas"),
    (3, image(), {"objects": [{"type": "path", "path": [["M", float("nan"), 2]]}]}, "not_a_canvas"),
    (3, image(), {"objects": [{"type": "path", "path": [["M", 1e9, 2]]}]}, "not_a_canvas"),
    (3, image(), {"objects": [{"type": "path", "path": [["L", 1, 2]] * 50}] * 61}, "too_many_strokes"),
    (3, image(), {"objects": [{"type": "path", "path": [["L", 1, 2]] * 3001}]}, "too_many_strokes"),
])
def test_bad_payloads_are_refused_and_nothing_is_stored(store, hand, klass, label, picture, canvas, code):
    learner = store.learner(new_secret())
    with pytest.raises(StoreError) as refused:
        hand.add(learner, klass[0], label, picture, canvas)
    assert refused.value.code == code
    assert len(hand.set(klass[0])) == 0


def test_the_set_is_bounded_per_learner_per_class_and_against_a_flood(store, hand, klass, clock, monkeypatch):
    code, _ = klass
    monkeypatch.setattr(bounds, "MAX_DRAWINGS_PER_CLASS", 8)
    monkeypatch.setattr(bounds, "MAX_DRAWINGS_PER_LEARNER", 5)
    monkeypatch.setattr(bounds, "DRAWINGS_PER_LEARNER_PER_WINDOW", 3)
    alice, bob = store.learner(new_secret()), store.learner(new_secret())
    for _ in range(3):
        hand.add(alice, code, 1, image(), strokes())
    with pytest.raises(StoreError) as flood:
        hand.add(alice, code, 1, image(), strokes())
    assert flood.value.code == "drawing_flood" and flood.value.values["limit"] == 3
    clock.now += bounds.DRAW_WINDOW_SECONDS + 1               # a minute later: allowed again
    hand.add(alice, code, 1, image(), strokes())
    hand.add(alice, code, 1, image(), strokes())
    clock.now += bounds.DRAW_WINDOW_SECONDS + 1
    with pytest.raises(StoreError) as mine:
        hand.add(alice, code, 1, image(), strokes())
    assert mine.value.code == "learner_set_full" and mine.value.values["limit"] == 5
    for _ in range(3):
        hand.add(bob, code, 2, image(), strokes())
    clock.now += bounds.DRAW_WINDOW_SECONDS + 1
    with pytest.raises(StoreError) as full:
        hand.add(bob, code, 2, image(), strokes())
    assert full.value.code == "class_set_full" and full.value.values["limit"] == 8
    assert len(hand.set(code)) == 8


def test_forget_me_the_teachers_remove_and_closing_delete_drawings(store, hand, clock):
    code, key = store.create_class(None, "3B")
    alice, bob, carol = (store.learner(new_secret()) for _ in range(3))
    a = [hand.add(alice, code, d, image(), strokes()) for d in (0, 1, 2)]
    b = [hand.add(bob, code, d, image(), strokes()) for d in (3, 4)]
    c = [hand.add(carol, code, d, image(), strokes()) for d in (5, 6)]
    before = hand.version(code)
    store.forget(alice)                                      # Forget me: her drawings go with her
    assert sorted(hand.set(code).ids) == sorted(b + c) and hand.version(code) != before
    with pytest.raises(StoreError) as wrong:
        hand.remove(code, "not-the-teacher-key-0000", b[0])
    assert wrong.value.code == "wrong_key"
    assert hand.remove(code, key, b[0]) == 1                 # one drawing
    assert sorted(hand.set(code).ids) == [b[1]] + c
    assert hand.remove(code, key, c[0], whole_round=True) == 2   # a learner's whole round
    assert list(hand.set(code).ids) == [b[1]]
    with pytest.raises(StoreError) as gone:
        hand.remove(code, key, c[1])
    assert gone.value.code == "no_such_drawing"
    other, _ = store.create_class(None, "4C")
    with pytest.raises(StoreError):
        hand.remove(other, key, b[1])                        # another class's key removes nothing
    hand.close_drawing(code, key)                            # drawing closed: the set stays
    with pytest.raises(StoreError) as closed:
        hand.add(bob, code, 9, image(), strokes())
    assert closed.value.code == "drawing_closed" and len(hand.set(code)) == 1
    store.close_class(code, key)                             # the class closing deletes them
    assert len(hand.set(code)) == 0 and store.counts()["learners"] == 2
    clock.now += 1
    third, _ = store.create_class(None, "5D")
    hand.add(bob, third, 1, image(), strokes())
    store.sweep(now=clock.now + bounds.RETENTION_DAYS * bounds.DAY + 10)   # the janitor, later
    with pytest.raises(StoreError):
        hand.set(third)


def test_the_export_round_trips(store, hand, klass):
    code, key = klass
    learner = store.learner(new_secret())
    for digit in range(3):
        hand.add(learner, code, digit, image(8 + 4 * digit), strokes(60 + 40 * digit))
    with pytest.raises(StoreError):
        hand.export(code, "not-the-teacher-key-0000")
    exported = hand.export(code, key)
    payload = classset.to_npz(exported.images, exported.labels, exported.strokes, exported.learners, exported.ids)
    back = classset.from_npz(payload)
    assert np.array_equal(back["images"], exported.images) and back["images"].dtype == np.uint8
    assert list(back["labels"]) == [0, 1, 2] and list(back["id"]) == list(exported.ids)
    assert list(back["learner"]) == [1, 1, 1]
    assert back["strokes"] == exported.strokes and back["strokes"][2]["objects"][0]["path"][0] == ["M", 140.0, 30.0]


def test_a_join_code_finds_the_class_and_guessing_is_bounded(store, hand, klass, clock, monkeypatch):
    code, key = klass
    with pytest.raises(StoreError):
        hand.join_code(code, "not-the-teacher-key-0000")
    join = hand.join_code(code, key)
    assert len(join) == bounds.JOIN_CODE_LENGTH and join not in code
    assert hand.join(f" {join[:3].lower()}-{join[3:]} ", "browser-a") == code      # typed loosely
    import sqlalchemy as sa
    from mnist_core.runstore.schema import class_joins
    with store.engine.connect() as connection:                # the class code is not in the clear
        row = connection.execute(sa.select(class_joins)).first()
    assert code not in json.dumps(dict(row._mapping)) and join not in json.dumps(dict(row._mapping))
    monkeypatch.setattr(bounds, "JOIN_FAILURES_PER_BROWSER", 3)
    monkeypatch.setattr(bounds, "JOIN_FAILURES_EVERYWHERE", 5)
    for guess in ("AAAAAA", "BBBBBB", "'OR1=1"):
        with pytest.raises(StoreError) as wrong:
            hand.join(guess, "browser-a")
        assert wrong.value.code == "join_code_wrong"
    with pytest.raises(StoreError) as limited:
        hand.join(join, "browser-a")                         # even the right code, once limited
    assert limited.value.code == "join_rate_limited"
    for guess in ("CCCCCC", "DDDDDD"):
        with pytest.raises(StoreError):
            hand.join(guess, "browser-b")
    with pytest.raises(StoreError) as busy:
        hand.join(join, "browser-c")                          # the site-wide bound
    assert busy.value.code == "join_busy"
    clock.now += bounds.JOIN_WINDOW_SECONDS + 1
    assert hand.join(join, "browser-a") == code               # the window passed
    clock.now += bounds.JOIN_CODE_HOURS * 3600 + 1
    with pytest.raises(StoreError) as expired:
        hand.join(join, "browser-a")
    assert expired.value.code == "join_code_wrong"


def test_a_removed_drawings_id_is_never_given_again(store, hand):
    """The set's version and every model's cached readings key on drawing ids: SQLite handed the
    highest removed id to the next drawing, so a new 3 came back as the removed 7's cached reading
    and the set's version did not change (a fresh-eye review found it)."""
    code, key = store.create_class(None, "3B")
    alice, bob = store.learner(new_secret()), store.learner(new_secret())
    kept = hand.add(alice, code, 7, image(), strokes())
    removed = hand.add(alice, code, 7, image(10), strokes(90))
    before = hand.version(code)
    assert hand.remove(code, key, removed) == 1
    after_removal = hand.version(code)
    new = hand.add(bob, code, 3, image(20), strokes(200))
    assert new not in (kept, removed) and new > removed
    assert len({before, after_removal, hand.version(code)}) == 3


def test_a_class_still_drawing_is_not_swept_as_unused(store, hand, clock):
    """A class lasts the retention period after its last use, and drawing its handwriting is use:
    a class that drew but never published was deleted 30 days after it was made (fresh-eye review)."""
    code, _ = store.create_class(None, "3B")
    bob = store.learner(new_secret())
    clock.now += bounds.RETENTION_DAYS * bounds.DAY - 100     # near the end of its first 30 days
    hand.add(bob, code, 4, image(), strokes())
    store.sweep(now=clock.now + 200)                          # 30 days after it was made
    assert len(hand.set(code)) == 1
    store.sweep(now=clock.now + bounds.RETENTION_DAYS * bounds.DAY + 10)   # 30 days after the drawing
    with pytest.raises(StoreError):
        hand.set(code)
