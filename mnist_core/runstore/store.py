"""The run store: learners' finished runs, classes and the runs published to them.

One interface, two back ends through SQLAlchemy Core: SQLite (one file, the default) and
PostgreSQL (`DATABASE_URL`, shared by every replica). Every statement is built by SQLAlchemy with
bound parameters; secrets, codes and keys are kept as SHA-256 digests and compared with
`hmac.compare_digest`. Model files read back go through the upload loader's allow-list
(`mnist_core.storage.load_model_bytes`). The store knows learners by id; who a browser is, is
studio's business.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from . import bounds
from .connect import detail as _detail, engine as _engine
from .schema import classes, drawings, entries, learners, runs

MIGRATIONS = Path(__file__).with_name("migrations")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")    # secrets, class codes, teacher keys (url-safe)
_MIGRATION_LOCK = 0x4D4E4953                     # PostgreSQL advisory lock: one migrator at a time

class StoreError(Exception):
    """`code` says what went wrong, `values` fill the message; the words for each code are in the
    app's catalogue (studio/ui/locales/*.json, keys `store.error.<code>`). str() is the code and
    values, for logs."""

    def __init__(self, code: str, **values):
        self.code, self.values = code, values
        super().__init__(f"{code} {values}" if values else code)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def is_token(text) -> bool:
    return isinstance(text, str) and _TOKEN.fullmatch(text) is not None


def new_secret() -> str:
    """A learner's secret: 256 random bits, url-safe."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class RunRecord:
    """A finished run as the store keeps it; `record` holds its metadata (spec, history, metrics),
    confusion matrix and per-digit figures, `model` its .keras file."""
    number: int
    name: str
    arch: str
    parameters: int
    test_accuracy: float
    train_seconds: float
    record: dict
    model: bytes = b""
    id: int | None = None
    created_at: int | None = None

    @classmethod
    def of(cls, number: int, name: str, metadata: dict, report, parameters: int, model: bytes):
        """From a trained run's metadata and its EvaluationReport."""
        record = {"metadata": metadata, "confusion": report.confusion.tolist(),
                  "per_digit": {"precision": report.precision.tolist(),
                                "recall": report.recall.tolist(), "f1": report.f1.tolist()}}
        return cls(number, name, str(metadata.get("arch", "?"))[:40], int(parameters),
                   float(report.accuracy), float(metadata.get("train_seconds") or 0.0), record, model)


@dataclass(frozen=True)
class ClassInfo:
    id: int
    name: str
    closed: bool
    created_at: int


@dataclass(frozen=True)
class BoardEntry:
    id: int
    display_name: str
    published_at: int
    run: RunRecord          # without its model file


class RunStore:
    """Open (and migrate) the store at `url`. Every method raises StoreError; a database that is
    unreachable or damaged raises StoreError("unavailable", detail=...)."""

    def __init__(self, url: str, *, clock=time.time):
        self.clock = clock
        from alembic.util import CommandError
        try:
            self.engine = _engine(url)
            self._migrate()
        except (sa_exc.SQLAlchemyError, CommandError, OSError, ValueError) as exc:   # e.g. a newer schema
            raise StoreError("unavailable", detail=_detail(exc)) from exc

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def describe(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def _migrate(self) -> None:
        from alembic import command
        from alembic.config import Config
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        for attempt in range(3):
            try:
                with self.engine.begin() as connection:
                    if connection.dialect.name == "postgresql":   # replicas starting together
                        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
                    config.attributes["connection"] = connection
                    command.upgrade(config, "head")
                return
            except sa_exc.OperationalError:
                # SQLite runs DDL outside transactions: a second process migrating at the same
                # moment fails on "already exists"; by the next attempt the first has finished.
                if self.backend != "sqlite" or attempt == 2:
                    raise
                time.sleep(0.5)

    def _now(self) -> int:
        return int(self.clock())

    def _run(self, work, *, write: bool = True, races: bool = False):
        """Run `work(connection)` in one transaction, translating database failures. With `races`,
        an IntegrityError (two requests inserting the same row at once) goes to the caller."""
        try:
            with (self.engine.begin() if write else self.engine.connect()) as connection:
                return work(connection)
        except sa_exc.IntegrityError:
            if races:
                raise
            raise StoreError("no_such_run") from None     # e.g. its learner was forgotten meanwhile
        except (sa_exc.SQLAlchemyError, OSError) as exc:
            raise StoreError("unavailable", detail=_detail(exc)) from exc

    # --- Learners ----------------------------------------------------------------------------

    def learner(self, secret: str, *, create: bool = True) -> int | None:
        """The id of the learner holding `secret`: created on first sight, or with `create=False`
        None for a secret never seen (a visitor who only reads leaves no row)."""
        if not is_token(secret):
            raise ValueError("a learner's secret is 16-64 url-safe characters")
        hashed, now = token_hash(secret), self._now()

        def find_or_create(connection):
            found = connection.execute(sa.select(learners.c.id).where(
                learners.c.secret_hash == hashed)).scalar()
            if found is not None:
                connection.execute(learners.update().where(learners.c.id == found).values(seen_at=now))
                return found
            if not create:
                return None
            return connection.execute(learners.insert().values(
                secret_hash=hashed, created_at=now, seen_at=now).returning(learners.c.id)).scalar_one()
        try:
            return self._run(find_or_create, races=True)
        except sa_exc.IntegrityError:        # the same browser, two tabs, at the same moment
            return self._run(find_or_create)

    def forget(self, learner_id: int) -> int:
        """Delete a learner with their runs and board entries; how many runs were deleted."""
        def work(connection):
            count = connection.execute(sa.select(sa.func.count()).select_from(runs).where(
                runs.c.learner_id == learner_id)).scalar_one()
            connection.execute(entries.delete().where(entries.c.learner_id == learner_id))
            connection.execute(runs.delete().where(runs.c.learner_id == learner_id))
            connection.execute(learners.delete().where(learners.c.id == learner_id))
            return count
        return self._run(work)

    # --- Runs ----------------------------------------------------------------------------------

    def save_run(self, learner_id: int, run: RunRecord) -> tuple[int, int]:
        """Keep a finished run -> (its id, how many older runs were dropped to stay in bounds).
        A loss that diverged (NaN, inf) is kept as null: PostgreSQL's JSON has no NaN."""
        if len(run.model) > bounds.MAX_STORED_MODEL_BYTES:
            raise StoreError("model_too_big", mib=len(run.model) / 2**20,
                             limit=bounds.MAX_STORED_MODEL_BYTES // 2**20)
        now = self._now()

        def work(connection):
            run_id = connection.execute(runs.insert().values(
                learner_id=learner_id, number=run.number, name=run.name[:120], arch=run.arch,
                parameters=run.parameters, test_accuracy=run.test_accuracy,
                train_seconds=run.train_seconds, created_at=now, record=_finite(run.record),
                model_size=len(run.model), model=run.model).returning(runs.c.id)).scalar_one()
            # A run on a class board is not pruned: it leaves with the retention period, never
            # silently from a board because its learner trained more (publishing is rate-limited).
            published = sa.select(entries.c.run_id).where(entries.c.run_id == runs.c.id).exists()
            beyond = connection.execute(sa.select(runs.c.id).where(runs.c.learner_id == learner_id, ~published)
                                        .order_by(runs.c.created_at.desc(), runs.c.id.desc())
                                        .offset(bounds.MAX_RUNS_PER_LEARNER)).scalars().all()
            if beyond:
                connection.execute(runs.delete().where(runs.c.id.in_(beyond)))
            return run_id, len(beyond)
        return self._run(work)

    def runs(self, learner_id: int) -> list[RunRecord]:
        """The learner's runs, newest first, without their model files."""
        query = (sa.select(*_SUMMARY).where(runs.c.learner_id == learner_id)
                 .order_by(runs.c.created_at.desc(), runs.c.id.desc()))
        return self._run(lambda c: [_record(row) for row in c.execute(query)], write=False)

    def run_model(self, learner_id: int, run_id: int) -> tuple:
        """(keras model, metadata) of one of the learner's runs, through the upload loader."""
        query = sa.select(runs.c.model).where(runs.c.id == run_id, runs.c.learner_id == learner_id)
        return _load(self._run(lambda c: c.execute(query).scalar(), write=False))

    # --- Classes -------------------------------------------------------------------------------

    def create_class(self, learner_id: int | None, name: str) -> tuple[str, str]:
        """A new class -> (class code to share, teacher key to keep). Both are shown once."""
        name = _clean(name, bounds.MAX_CLASS_NAME)
        code, key, now = secrets.token_urlsafe(16), secrets.token_urlsafe(24), self._now()

        def work(connection):
            if learner_id is not None:
                made = connection.execute(sa.select(sa.func.count()).select_from(classes).where(
                    classes.c.created_by == learner_id,
                    classes.c.created_at > now - bounds.DAY)).scalar_one()
                if made >= bounds.CLASSES_PER_LEARNER_PER_DAY:
                    raise StoreError("too_many_classes", limit=bounds.CLASSES_PER_LEARNER_PER_DAY)
            connection.execute(classes.insert().values(
                code_hash=token_hash(code), teacher_hash=token_hash(key), name=name, created_by=learner_id,
                created_at=now))
        self._run(work)
        return code, key

    def find_class(self, code: str) -> ClassInfo:
        """The class with this code, or StoreError("no_such_class")."""
        return self._run(lambda c: _class(c, code), write=False)

    def is_teacher(self, code: str, key: str) -> bool:
        return self._run(lambda c: _teacher(c, code, key) is not None, write=False)

    def close_class(self, code: str, key: str) -> None:
        def work(connection):
            info = _require_teacher(connection, code, key)
            connection.execute(classes.update().where(classes.c.id == info.id).values(closed=True))
            connection.execute(drawings.delete().where(drawings.c.class_id == info.id))   # its handwriting
        self._run(work)

    def hide(self, code: str, key: str, entry_id: int) -> None:
        def work(connection):
            info = _require_teacher(connection, code, key)
            connection.execute(entries.update().where(
                entries.c.id == entry_id, entries.c.class_id == info.id).values(hidden=True))
        self._run(work)

    def publish(self, learner_id: int, run_id: int, code: str, display_name: str) -> int:
        """Put one of the learner's runs on a class's board under `display_name` -> entry id."""
        display_name = _clean(display_name, bounds.MAX_DISPLAY_NAME)
        now = self._now()
        since = now - bounds.PUBLISH_WINDOW_SECONDS
        minutes = bounds.PUBLISH_WINDOW_SECONDS // 60

        def work(connection):
            info = _class(connection, code)
            if info.closed:
                raise StoreError("class_closed")
            owned = connection.execute(sa.select(runs.c.id).where(
                runs.c.id == run_id, runs.c.learner_id == learner_id)).scalar()
            if owned is None:
                raise StoreError("no_such_run")
            recent = sa.select(sa.func.count()).select_from(entries).where(entries.c.published_at > since)
            if connection.execute(recent.where(entries.c.learner_id == learner_id)).scalar_one() \
                    >= bounds.PUBLISH_PER_LEARNER:
                raise StoreError("learner_rate_limited", limit=bounds.PUBLISH_PER_LEARNER, minutes=minutes)
            if connection.execute(recent.where(entries.c.class_id == info.id)).scalar_one() \
                    >= bounds.PUBLISH_PER_CLASS:
                raise StoreError("class_rate_limited", limit=bounds.PUBLISH_PER_CLASS, minutes=minutes)
            held = connection.execute(sa.select(sa.func.count()).select_from(entries).where(
                entries.c.class_id == info.id)).scalar_one()
            if held >= bounds.MAX_ENTRIES_PER_CLASS:
                raise StoreError("class_full", limit=bounds.MAX_ENTRIES_PER_CLASS)
            already = connection.execute(sa.select(entries.c.id).where(
                entries.c.class_id == info.id, entries.c.run_id == run_id)).scalar()
            if already is not None:
                raise StoreError("already_published")
            return connection.execute(entries.insert().values(
                class_id=info.id, run_id=run_id, learner_id=learner_id, display_name=display_name,
                published_at=now).returning(entries.c.id)).scalar_one()
        try:
            return self._run(work, races=True)
        except sa_exc.IntegrityError as exc:   # the same run published twice at the same moment
            raise StoreError("already_published") from exc

    def board(self, code: str) -> list[BoardEntry]:
        """A class's visible entries, oldest first, without model files."""
        def work(connection):
            info = _class(connection, code)
            query = (sa.select(entries.c.id.label("entry_id"), entries.c.display_name,
                               entries.c.published_at, *_SUMMARY)
                     .join(runs, runs.c.id == entries.c.run_id)
                     .where(entries.c.class_id == info.id, entries.c.hidden == sa.false())
                     .order_by(entries.c.published_at, entries.c.id))
            return [BoardEntry(row.entry_id, row.display_name, row.published_at, _record(row))
                    for row in connection.execute(query)]
        return self._run(work, write=False)

    def entry_model(self, code: str, entry_id: int) -> tuple:
        """(keras model, metadata) of a visible entry on this class's board, through the loader."""
        def work(connection):
            info = _class(connection, code)
            return connection.execute(sa.select(runs.c.model).join(
                entries, entries.c.run_id == runs.c.id).where(
                entries.c.id == entry_id, entries.c.class_id == info.id,
                entries.c.hidden == sa.false())).scalar()
        return _load(self._run(work, write=False))

    # --- Upkeep --------------------------------------------------------------------------------

    def sweep(self, now: float | None = None) -> dict:
        """The janitor: remove runs (and their entries) older than the retention period, classes
        not used in it (created, published to and drawn for before the cutoff), and learners with nothing
        left who were not seen in it -> rows removed."""
        cutoff = int(self.clock() if now is None else now) - int(bounds.RETENTION_DAYS * bounds.DAY)

        def work(connection):
            old_runs = sa.select(runs.c.id).where(runs.c.created_at < cutoff)
            removed = {"entries": connection.execute(entries.delete().where(
                entries.c.run_id.in_(old_runs))).rowcount}
            removed["runs"] = connection.execute(runs.delete().where(runs.c.created_at < cutoff)).rowcount
            recent = sa.select(entries.c.id).where(entries.c.class_id == classes.c.id,
                                                   entries.c.published_at >= cutoff).exists()
            drawn = sa.select(drawings.c.id).where(drawings.c.class_id == classes.c.id,
                                                   drawings.c.created_at >= cutoff).exists()
            old_classes = sa.select(classes.c.id).where(classes.c.created_at < cutoff, ~recent, ~drawn)
            removed["entries"] += connection.execute(entries.delete().where(
                entries.c.class_id.in_(old_classes))).rowcount
            removed["classes"] = connection.execute(classes.delete().where(
                classes.c.id.in_(old_classes))).rowcount
            has_runs = sa.select(runs.c.id).where(runs.c.learner_id == learners.c.id).exists()
            has_drawings = sa.select(drawings.c.id).where(drawings.c.learner_id == learners.c.id).exists()
            removed["learners"] = connection.execute(learners.delete().where(   # drawings go with their class
                learners.c.seen_at < cutoff, ~has_runs, ~has_drawings)).rowcount
            return removed
        return self._run(work)

    def counts(self) -> dict:
        """Rows per table and the model bytes held (for the capacity figures)."""
        def work(connection):
            rows = {table.name: connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                    for table in (learners, runs, classes, entries)}
            rows["model_bytes"] = int(connection.execute(
                sa.select(sa.func.coalesce(sa.func.sum(runs.c.model_size), 0))).scalar_one())
            return rows
        return self._run(work, write=False)


# --- Helpers ------------------------------------------------------------------------------------

_SUMMARY = (runs.c.id, runs.c.number, runs.c.name, runs.c.arch, runs.c.parameters,
            runs.c.test_accuracy, runs.c.train_seconds, runs.c.record, runs.c.created_at)


def _finite(value):
    """`value` with every NaN or infinity made None (JSON as PostgreSQL and the standard take it)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def _record(row) -> RunRecord:
    return RunRecord(row.number, row.name, row.arch, row.parameters, row.test_accuracy,
                     row.train_seconds, row.record, id=row.id, created_at=row.created_at)


def _load(payload) -> tuple:
    if payload is None:
        raise StoreError("no_such_run")
    from mnist_core import storage
    return storage.load_model_bytes(bytes(payload))


def _clean(name, limit: int) -> str:
    try:
        return bounds.clean_name(name, limit)
    except ValueError as exc:
        if str(exc) == "too_long":
            raise StoreError("name_too_long", limit=limit) from exc
        raise StoreError("empty_name") from exc


def _class(connection, code: str) -> ClassInfo:
    if not is_token(code):
        raise StoreError("no_such_class")
    hashed = token_hash(code)
    row = connection.execute(sa.select(classes).where(classes.c.code_hash == hashed)).first()
    if row is None or not hmac.compare_digest(row.code_hash, hashed):
        raise StoreError("no_such_class")
    return ClassInfo(row.id, row.name, bool(row.closed), row.created_at)


def _teacher(connection, code: str, key: str) -> ClassInfo | None:
    info = _class(connection, code)
    stored = connection.execute(sa.select(classes.c.teacher_hash).where(classes.c.id == info.id)).scalar()
    given = token_hash(key) if is_token(key) else ""
    return info if hmac.compare_digest(stored, given) else None


def _require_teacher(connection, code: str, key: str) -> ClassInfo:
    info = _teacher(connection, code, key)
    if info is None:
        raise StoreError("wrong_key")
    return info
