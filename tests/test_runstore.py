"""The run store (issue #20): the same tests against SQLite and a real PostgreSQL server."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import sqlalchemy as sa

from mnist_core import storage
from mnist_core.runstore import RunRecord, RunStore, StoreError, bounds, database_url, new_secret
from mnist_core.runstore.schema import metadata as schema_metadata

from .conftest import ROOT

TUTORIAL = ROOT / "models" / "tutorial.keras"


class Clock:
    def __init__(self, now: float = 1_800_000_000):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    cluster = request.getfixturevalue("pg_cluster")
    return database_url({"DATABASE_URL": cluster.new_database()}, tmp_path)


@pytest.fixture()
def clock():
    return Clock()


@pytest.fixture()
def store(url, clock):
    opened = RunStore(url, clock=clock)
    yield opened
    opened.close()


def record(number: int = 1, accuracy: float = 0.9, model: bytes = b"not a model", arch="dense") -> RunRecord:
    confusion = np.diag(np.full(10, 90)) + 1
    return RunRecord(number, f"Run {number}", arch, 407_050, accuracy, 12.5,
                     {"metadata": {"arch": arch, "history": {"accuracy": [0.8, accuracy]}},
                      "confusion": confusion.tolist(),
                      "per_digit": {"recall": [accuracy] * 10}}, model)


def test_a_run_is_kept_and_read_back_by_its_learner_only(store):
    alice, bob = store.learner(new_secret()), store.learner(new_secret())
    first, _ = store.save_run(alice, record(1, 0.91))
    second, dropped = store.save_run(alice, record(2, 0.95))
    assert dropped == 0
    mine = store.runs(alice)
    assert [r.id for r in mine] == [second, first]          # newest first
    assert mine[0].record["metadata"]["history"]["accuracy"] == [0.8, 0.95]
    assert np.array_equal(mine[1].record["confusion"], record().record["confusion"])
    assert mine[0].test_accuracy == pytest.approx(0.95) and mine[0].model == b""   # no model bytes
    assert store.runs(bob) == []
    with pytest.raises(StoreError) as refused:
        store.run_model(bob, first)                           # another learner's run
    assert refused.value.code == "no_such_run"


def test_the_same_secret_is_the_same_learner_and_a_bad_one_is_refused(store):
    secret = new_secret()
    assert len(secret) >= 43                                  # 256 random bits, base64url
    assert store.learner(new_secret(), create=False) is None     # a visitor who only reads: no row
    assert store.counts()["learners"] == 0
    assert store.learner(secret) == store.learner(secret) != store.learner(new_secret())
    assert store.learner(secret, create=False) == store.learner(secret)
    for bad in ("", "short", "x" * 65, "a b c d e f g h i j k l", None, "é" * 20):
        with pytest.raises(ValueError):
            store.learner(bad)


def test_model_files_come_back_through_the_upload_loader(store):
    learner = store.learner(new_secret())
    payload = TUTORIAL.read_bytes()
    run_id, _ = store.save_run(learner, record(model=payload))
    model, metadata = store.run_model(learner, run_id)
    reference, reference_metadata = storage.load_model(TUTORIAL)
    x = np.random.default_rng(0).random((5, 784), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(reference(x)), atol=1e-6)
    assert metadata == reference_metadata
    # A file with code in it is refused by the allow-list, not loaded, even from the store.
    hostile = _zip({"config.json": json.dumps({"class_name": "Lambda", "module": "keras.layers",
                                               "config": {}}), "model.weights.h5": "x"})
    bad_id, _ = store.save_run(learner, record(2, model=hostile))
    with pytest.raises(storage.ModelFileError) as refused:
        store.run_model(learner, bad_id)
    assert refused.value.code == "code_layer"


def _zip(files: dict) -> bytes:
    import io
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_bounds_model_size_and_runs_per_learner(store, clock, monkeypatch):
    learner = store.learner(new_secret())
    with pytest.raises(StoreError) as refused:
        store.save_run(learner, record(model=b"x" * (bounds.MAX_STORED_MODEL_BYTES + 1)))
    assert refused.value.code == "model_too_big"
    monkeypatch.setattr(bounds, "MAX_RUNS_PER_LEARNER", 3)
    ids = []
    for number in range(1, 6):
        clock.now += 60
        run_id, dropped = store.save_run(learner, record(number))
        ids.append(run_id)
        assert dropped == (1 if number > 3 else 0)
    assert [r.id for r in store.runs(learner)] == ids[:1:-1]    # the three newest, newest first
    assert store.counts()["runs"] == 3


def test_forget_me_deletes_the_learners_runs_and_board_entries_only(store):
    alice, bob = store.learner(new_secret()), store.learner(new_secret())
    code, _key = store.create_class(bob, "Class 5B")
    alice_run, _ = store.save_run(alice, record(1))
    bob_run, _ = store.save_run(bob, record(1))
    store.publish(alice, alice_run, code, "Alice")
    store.publish(bob, bob_run, code, "Bob")
    assert store.forget(alice) == 1
    assert store.runs(alice) == [] and len(store.runs(bob)) == 1
    assert [e.display_name for e in store.board(code)] == ["Bob"]
    assert store.find_class(code).name == "Class 5B"


def test_a_class_board_publish_hide_and_close(store, url, clock):
    teacher, learner = store.learner(new_secret()), store.learner(new_secret())
    code, key = store.create_class(teacher, "Maths 3")
    assert store.is_teacher(code, key) and not store.is_teacher(code, new_secret())
    run_a, _ = store.save_run(learner, record(1, 0.97))
    run_b, _ = store.save_run(learner, record(2, 0.93))
    first = store.publish(learner, run_a, code, "Ann")
    clock.now += 1
    second = store.publish(learner, run_b, code, "Ann again")
    with pytest.raises(StoreError, match="^already_published"):
        store.publish(learner, run_a, code, "Ann")
    with pytest.raises(StoreError) as refused:       # only your own runs
        store.publish(teacher, run_a, code, "Not mine")
    assert refused.value.code == "no_such_run"
    # Another process (another engine on the same database) sees the same board.
    other = RunStore(url, clock=clock)
    try:
        board = other.board(code)
        assert [(e.id, e.display_name, e.run.test_accuracy) for e in board] == \
            [(first, "Ann", pytest.approx(0.97)), (second, "Ann again", pytest.approx(0.93))]
        with pytest.raises(StoreError) as refused:
            other.hide(code, "wrong-key-wrong-key-wrong", first)
        assert refused.value.code == "wrong_key"
        other.hide(code, key, first)
        assert [e.id for e in store.board(code)] == [second]
        with pytest.raises(StoreError):
            store.entry_model(code, first)           # a hidden entry can't be opened either
        other.close_class(code, key)
    finally:
        other.close()
    assert store.find_class(code).closed
    run_c, _ = store.save_run(learner, record(3))
    with pytest.raises(StoreError) as refused:
        store.publish(learner, run_c, code, "Late")
    assert refused.value.code == "class_closed"


def test_a_published_model_opens_for_anyone_with_the_code_through_the_loader(store):
    learner = store.learner(new_secret())
    code, _ = store.create_class(None, "Open day")
    run_id, _ = store.save_run(learner, record(model=TUTORIAL.read_bytes()))
    entry = store.publish(learner, run_id, code, "Ann")
    model, _ = store.entry_model(code, entry)
    assert model.count_params() == 407_050
    other_code, _ = store.create_class(None, "Another class")
    with pytest.raises(StoreError):
        store.entry_model(other_code, entry)         # the entry belongs to the first class only


def test_publishing_is_rate_limited_per_learner_and_per_class(store, clock, monkeypatch):
    monkeypatch.setattr(bounds, "PUBLISH_PER_LEARNER", 2)
    monkeypatch.setattr(bounds, "PUBLISH_PER_CLASS", 3)
    code, _ = store.create_class(None, "Busy class")
    ann, bo = store.learner(new_secret()), store.learner(new_secret())
    ann_runs = [store.save_run(ann, record(n))[0] for n in range(1, 5)]
    bo_runs = [store.save_run(bo, record(n))[0] for n in range(1, 5)]
    store.publish(ann, ann_runs[0], code, "Ann")
    store.publish(ann, ann_runs[1], code, "Ann")
    with pytest.raises(StoreError) as refused:
        store.publish(ann, ann_runs[2], code, "Ann")
    assert refused.value.code == "learner_rate_limited"
    store.publish(bo, bo_runs[0], code, "Bo")
    with pytest.raises(StoreError) as refused:
        store.publish(bo, bo_runs[1], code, "Bo")
    assert refused.value.code == "class_rate_limited"
    clock.now += bounds.PUBLISH_WINDOW_SECONDS + 1     # a new window
    store.publish(ann, ann_runs[2], code, "Ann")
    store.publish(bo, bo_runs[1], code, "Bo")
    assert len(store.board(code)) == 5


def test_class_creation_is_limited_per_learner_per_day(store, clock):
    teacher = store.learner(new_secret())
    for n in range(bounds.CLASSES_PER_LEARNER_PER_DAY):
        store.create_class(teacher, f"Class {n}")
    with pytest.raises(StoreError) as refused:
        store.create_class(teacher, "One too many")
    assert refused.value.code == "too_many_classes"
    clock.now += bounds.DAY + 1
    store.create_class(teacher, "Next day")


def test_the_janitor_removes_what_is_older_than_the_retention_period(store, clock, monkeypatch):
    monkeypatch.setattr(bounds, "RETENTION_DAYS", 2)
    old_learner, new_learner = store.learner(new_secret()), None
    code, _ = store.create_class(old_learner, "Old class")
    old_run, _ = store.save_run(old_learner, record(1))
    store.publish(old_learner, old_run, code, "Old")
    clock.now += 1.5 * bounds.DAY
    new_learner = store.learner(new_secret())
    new_code, _ = store.create_class(new_learner, "New class")
    new_run, _ = store.save_run(new_learner, record(1))
    store.publish(new_learner, new_run, new_code, "New")
    assert store.sweep() == {"entries": 0, "runs": 0, "classes": 0, "learners": 0}
    clock.now += 1 * bounds.DAY        # the old ones are now 2.5 days old, the new ones 1 day
    assert store.sweep() == {"entries": 1, "runs": 1, "classes": 1, "learners": 1}
    assert store.runs(old_learner) == [] and [r.id for r in store.runs(new_learner)] == [new_run]
    with pytest.raises(StoreError):
        store.find_class(code)
    assert [e.display_name for e in store.board(new_code)] == ["New"]
    assert store.counts() == {"learners": 1, "runs": 1, "classes": 1, "entries": 1,
                              "model_bytes": len(record().model)}


HOSTILE = ["<script>alert(1)</script>", "![x](http://203.0.113.9/t.png)", "[click](javascript:alert(1))",
           "Robert'); DROP TABLE runs;--", "**bold** _it_ `code` # h1", "a\u202egnp.exe", "名字 \x00\x07 ok",
           "line\nbreak\r\n\ttab", "\u200b\u200bzero width"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_kept_as_plain_text(store, name):
    learner = store.learner(new_secret())
    code, _ = store.create_class(learner, name)
    run_id, _ = store.save_run(learner, record())
    store.publish(learner, run_id, code, name)
    shown = store.board(code)[0].display_name
    assert shown == store.find_class(code).name
    assert shown == bounds.clean_name(name, bounds.MAX_DISPLAY_NAME)
    assert not any(ch in shown for ch in "\x00\x07\n\r\t\u202e\u200b")
    for literal in ("<script>", "](http", "DROP TABLE", "**bold**"):     # markup kept as text
        if literal in name:
            assert literal in shown
    assert store.counts()["runs"] == 1                   # the tables are all still there


def test_names_too_long_or_empty_are_refused(store):
    learner = store.learner(new_secret())
    run_id, _ = store.save_run(learner, record())
    code, _ = store.create_class(learner, "x" * bounds.MAX_CLASS_NAME)
    for name, why in (("x" * (bounds.MAX_DISPLAY_NAME + 1), "name_too_long"), ("  \n\t\u200b ", "empty_name"),
                      ("", "empty_name"), (None, "empty_name")):
        with pytest.raises(StoreError) as refused:
            store.publish(learner, run_id, code, name)
        assert refused.value.code == why
    with pytest.raises(StoreError):
        store.create_class(learner, "x" * (bounds.MAX_CLASS_NAME + 1))


def test_codes_and_keys_are_stored_only_hashed_and_bad_ones_refused(store):
    secret = new_secret()
    learner = store.learner(secret)
    code, key = store.create_class(learner, "Hashes")
    with store.engine.connect() as connection:
        dump = repr([list(connection.execute(sa.select(table))) for table in schema_metadata.sorted_tables])
    assert secret not in dump and code not in dump and key not in dump
    for bad in ("", "x" * 10_000, "' OR '1'='1", code + "x", code[:-1], key, None):
        with pytest.raises(StoreError) as refused:
            store.find_class(bad)
        assert refused.value.code == "no_such_class"
    assert not store.is_teacher(code, code) and not store.is_teacher(code, "' OR '1'='1")


def test_the_migrated_schema_is_the_one_the_code_uses(store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), schema_metadata)
        version = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    assert differences == [] and version == "0001"


def test_a_corrupt_sqlite_file_is_a_clear_error(tmp_path):
    path = tmp_path / "store.sqlite3"
    path.write_bytes(b"this is not a database" * 1000)
    with pytest.raises(StoreError) as refused:
        RunStore(f"sqlite:///{path}")
    assert refused.value.code == "unavailable" and "not a database" in str(refused.value)
    good = RunStore(f"sqlite:///{tmp_path / 'good.sqlite3'}")
    learner = good.learner(new_secret())
    good.engine.dispose()          # (closing the last connection writes the WAL back into the file)
    (tmp_path / "good.sqlite3").write_bytes(b"garbage" * 5000)      # damaged while in use
    with pytest.raises(StoreError) as refused:
        good.runs(learner)
    assert refused.value.code == "unavailable"


def test_an_unreachable_postgresql_is_a_clear_error_within_seconds(tmp_path):
    import time

    from .pgcluster import _free_port
    started = time.monotonic()
    with pytest.raises(StoreError) as refused:
        RunStore(database_url({"DATABASE_URL": f"postgresql://nobody@127.0.0.1:{_free_port()}/x"}, tmp_path))
    assert refused.value.code == "unavailable" and time.monotonic() - started < 10


def test_postgresql_going_away_mid_session_and_coming_back(pg_cluster, tmp_path):
    store = RunStore(database_url({"DATABASE_URL": pg_cluster.new_database()}, tmp_path))
    try:
        learner = store.learner(new_secret())
        store.save_run(learner, record())
        pg_cluster.stop()
        with pytest.raises(StoreError) as refused:
            store.runs(learner)
        assert refused.value.code == "unavailable"
        pg_cluster.restart()
        assert len(store.runs(learner)) == 1                   # the same store object reconnects
    finally:
        store.close()


def test_a_database_from_a_newer_version_is_a_clear_error(store, url):
    with store.engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreError) as refused:
        RunStore(url)
    assert refused.value.code == "unavailable" and "9999" in str(refused.value)


def test_saving_for_a_learner_forgotten_meanwhile_is_a_store_error(store):
    learner = store.learner(new_secret())
    store.forget(learner)
    with pytest.raises(StoreError) as refused:
        store.save_run(learner, record())
    assert refused.value.code == "no_such_run"


def test_a_diverged_run_is_kept_on_both_back_ends(store):
    """A NaN loss: SQLite took it, PostgreSQL's JSON refused it and the page said the database
    "did not answer" (#25). Kept as null on both."""
    learner = store.learner(new_secret())
    diverged = record(1)
    diverged.record["metadata"]["history"]["loss"] = [0.5, float("nan"), float("inf")]
    store.save_run(learner, diverged)
    [kept] = store.runs(learner)
    assert kept.record["metadata"]["history"]["loss"] == [0.5, None, None]


def test_pruning_to_the_limit_never_takes_a_run_off_a_class_board(store, clock, monkeypatch):
    """Pruning to MAX_RUNS_PER_LEARNER silently removed published board entries (#25)."""
    monkeypatch.setattr(bounds, "MAX_RUNS_PER_LEARNER", 2)
    learner = store.learner(new_secret())
    code, _ = store.create_class(learner, "Class 5B")
    published, _ = store.save_run(learner, record(1))
    store.publish(learner, published, code, "Mine")
    dropped = []
    for number in range(2, 6):
        clock.now += 60
        dropped.append(store.save_run(learner, record(number))[1])
    assert dropped == [0, 0, 1, 1]                     # the oldest unpublished runs went
    assert [e.display_name for e in store.board(code)] == ["Mine"]
    assert [r.number for r in store.runs(learner)] == [5, 4, 1]


def test_a_class_lasts_the_retention_period_after_its_last_publication(store, clock, monkeypatch):
    """Classes expired 30 days after creation, however busy (#25): now after their last use."""
    monkeypatch.setattr(bounds, "RETENTION_DAYS", 2)
    teacher = store.learner(new_secret())
    code, _ = store.create_class(teacher, "Class 5B")
    clock.now += 1.5 * bounds.DAY
    learner = store.learner(new_secret())
    run, _ = store.save_run(learner, record(1))
    store.publish(learner, run, code, "Late")
    clock.now += 1 * bounds.DAY                        # created 2.5 days ago, used 1 day ago
    assert store.sweep()["classes"] == 0
    assert store.find_class(code).name == "Class 5B"
    clock.now += 1.5 * bounds.DAY                      # its run has expired: the class is unused
    assert store.sweep() == {"entries": 1, "runs": 1, "classes": 1, "learners": 1}
