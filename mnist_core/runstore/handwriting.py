"""A class's own handwriting in the store (issue #28): the drawings its learners give it, the teacher's
tools over them, and short join codes.

A drawing belongs to its learner (Forget me deletes the learner row; the drawings go with it, ON DELETE
CASCADE) and to its class (closing the class deletes them: RunStore.close_class; the janitor's removal
of an old class cascades). Only someone holding the class code reads the set; only the teacher key
removes, closes drawing or exports. The bounds are in bounds.py.

A join code (6 symbols, typed from a projector) finds the class code: the store keeps the join code's
SHA-256 and the class code sealed with a key derived from the join code, so the database holds no class
code in the clear. 2^30 join codes can be tried offline by whoever holds the database, so a join code
expires after bounds.JOIN_CODE_HOURS; online guessing is bounded per browser and store-wide.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from mnist_core.drawings import classset

from . import bounds
from .schema import class_joins, classes, drawings, join_failures
from .store import RunStore, StoreError, _class, _require_teacher, token_hash

JOIN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"     # 32 symbols, no 0/O or 1/I look-alikes

@dataclass(frozen=True)
class ClassSet:
    """A class's drawings, oldest first. `learners` are numbered 1, 2, ... in the order they first
    drew (the store's learner ids stay inside); `version` changes whenever a drawing comes or goes."""
    ids: np.ndarray
    learners: np.ndarray
    labels: np.ndarray
    images: np.ndarray           # (n, 28, 28) uint8
    withheld: np.ndarray
    version: str
    strokes: list | None = None  # only for the teacher's export
    owner: np.ndarray | None = None   # whether each is the asking learner's own

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, keep: np.ndarray) -> "ClassSet":
        keep = np.asarray(keep, dtype=bool)
        return ClassSet(self.ids[keep], self.learners[keep], self.labels[keep], self.images[keep],
                        self.withheld[keep], f"{self.version}/{digest_of(self.ids[keep])}",
                        None if self.strokes is None else [s for s, k in zip(self.strokes, keep) if k],
                        None if self.owner is None else self.owner[keep])


def digest_of(ids) -> str:
    return hashlib.sha256(np.asarray(ids, dtype=np.int64).tobytes()).hexdigest()[:16]


class Handwriting:
    """The class sets of one RunStore: `Handwriting(store).add(...)`. Raises StoreError."""

    def __init__(self, store: RunStore):
        self.store = store

    def add(self, learner_id: int, code: str, label, image, strokes, *, withheld: bool = False) -> int:
        """Keep one drawing -> its id: `image` the 28x28 the models read, `strokes` the canvas'
        json_data, `withheld` whether the best reader named no digit (kept: the learner said what
        it is). Nothing is stored unless every check passes."""
        try:
            label = classset.check_label(label)
            pixels = classset.image_bytes(image)
            kept = classset.clean_strokes(strokes)
        except classset.DrawingRefused as refused:
            raise StoreError(refused.code, **refused.values) from None   # its words: store.error.<code>
        return self._insert(learner_id, code, label, pixels, kept, bool(withheld))

    def _insert(self, learner_id, code, label, pixels, kept, withheld) -> int:
        import json
        if len(json.dumps(kept)) > bounds.MAX_STROKE_BYTES:
            raise StoreError("too_many_strokes", limit=bounds.MAX_STROKES)
        now = self.store._now()

        def count(connection, *where):
            return connection.execute(sa.select(sa.func.count()).select_from(drawings).where(*where)).scalar_one()

        def work(connection):
            info = _class(connection, code)
            if info.closed or _drawing_closed(connection, info.id):
                raise StoreError("drawing_closed")
            if count(connection, drawings.c.learner_id == learner_id,
                     drawings.c.created_at > now - bounds.DRAW_WINDOW_SECONDS) >= bounds.DRAWINGS_PER_LEARNER_PER_WINDOW:
                raise StoreError("drawing_flood", limit=bounds.DRAWINGS_PER_LEARNER_PER_WINDOW,
                                   seconds=bounds.DRAW_WINDOW_SECONDS)
            if count(connection, drawings.c.class_id == info.id) >= bounds.MAX_DRAWINGS_PER_CLASS:
                raise StoreError("class_set_full", limit=bounds.MAX_DRAWINGS_PER_CLASS)
            if count(connection, drawings.c.class_id == info.id,
                     drawings.c.learner_id == learner_id) >= bounds.MAX_DRAWINGS_PER_LEARNER:
                raise StoreError("learner_set_full", limit=bounds.MAX_DRAWINGS_PER_LEARNER)
            return connection.execute(drawings.insert().values(
                class_id=info.id, learner_id=learner_id, label=label, image=pixels, strokes=kept,
                withheld=withheld, created_at=now).returning(drawings.c.id)).scalar_one()
        return self.store._run(work)

    def set(self, code: str, *, learner_id: int | None = None, strokes: bool = False) -> ClassSet:
        """The class's drawings (anyone with the code); `learner_id` marks that learner's own."""
        def work(connection):
            info = _class(connection, code)
            columns = [drawings.c.id, drawings.c.learner_id, drawings.c.label, drawings.c.image,
                       drawings.c.withheld] + ([drawings.c.strokes] if strokes else [])
            rows = connection.execute(sa.select(*columns).where(drawings.c.class_id == info.id)
                                      .order_by(drawings.c.id)).all()
            return rows
        rows = self.store._run(work, write=False)
        ids = np.array([r.id for r in rows], dtype=np.int64)
        owners = np.array([r.learner_id for r in rows], dtype=np.int64)
        numbered: dict = {}
        for owner in owners:
            numbered.setdefault(int(owner), len(numbered) + 1)
        images = np.frombuffer(b"".join(bytes(r.image) for r in rows), dtype=np.uint8).reshape(-1, 28, 28)
        return ClassSet(ids, np.array([numbered[int(o)] for o in owners], dtype=np.int64),
                        np.array([r.label for r in rows], dtype=np.int64), images.copy(),
                        np.array([bool(r.withheld) for r in rows], dtype=bool), digest_of(ids),
                        [r.strokes for r in rows] if strokes else None,
                        None if learner_id is None else owners == learner_id)

    def version(self, code: str) -> str:
        """The set's version alone (cheap): a page checks it before asking for measures."""
        def work(connection):
            info = _class(connection, code)
            return connection.execute(sa.select(drawings.c.id).where(drawings.c.class_id == info.id)
                                      .order_by(drawings.c.id)).scalars().all()
        return digest_of(self.store._run(work, write=False))

    def owners(self, code: str, learner_id: int) -> set:
        """The ids of the learner's own drawings in this class."""
        def work(connection):
            info = _class(connection, code)
            return set(connection.execute(sa.select(drawings.c.id).where(
                drawings.c.class_id == info.id, drawings.c.learner_id == learner_id)).scalars().all())
        return self.store._run(work, write=False)

    def drawing_closed(self, code: str) -> bool:
        return self.store._run(lambda c: _drawing_closed(c, _class(c, code).id), write=False)

    # --- The teacher's tools ----------------------------------------------------------------

    def remove(self, code: str, key: str, drawing_id: int, *, whole_round: bool = False) -> int:
        """Delete one drawing, or with `whole_round` every drawing of its learner in this class
        -> how many were deleted."""
        def work(connection):
            info = _require_teacher(connection, code, key)
            owner = connection.execute(sa.select(drawings.c.learner_id).where(
                drawings.c.id == int(drawing_id), drawings.c.class_id == info.id)).scalar()
            if owner is None:
                raise StoreError("no_such_drawing")
            which = drawings.c.learner_id == owner if whole_round else drawings.c.id == int(drawing_id)
            return connection.execute(drawings.delete().where(drawings.c.class_id == info.id, which)).rowcount
        return self.store._run(work)

    def close_drawing(self, code: str, key: str) -> None:
        """No more drawings for this class; its set stays (measured, exported) until it closes."""
        def work(connection):
            info = _require_teacher(connection, code, key)
            connection.execute(classes.update().where(classes.c.id == info.id).values(drawing_closed=True))
        self.store._run(work)

    def export(self, code: str, key: str) -> ClassSet:
        """The set with its strokes, for the teacher's download."""
        if not self.store.is_teacher(code, key):
            raise StoreError("wrong_key")
        return self.set(code, strokes=True)

    # --- Join codes ---------------------------------------------------------------------------

    def join_code(self, code: str, key: str) -> str:
        """A new join code for the class (the teacher's projector view), valid JOIN_CODE_HOURS."""
        join = "".join(secrets.choice(JOIN_ALPHABET) for _ in range(bounds.JOIN_CODE_LENGTH))
        salt, now = secrets.token_hex(16), self.store._now()

        def work(connection):
            info = _require_teacher(connection, code, key)
            connection.execute(class_joins.delete().where(class_joins.c.expires_at < now))
            connection.execute(class_joins.insert().values(
                class_id=info.id, join_hash=token_hash(join), salt=salt, sealed=_seal(code, join, salt).hex(),
                expires_at=now + int(bounds.JOIN_CODE_HOURS * 3600)))
        self.store._run(work)
        return join

    def join(self, typed: str, who: str) -> str:
        """The class code for a typed join code. `who`: a digest naming the browser, for the rate
        limit. A wrong code counts against `who` and the whole site."""
        join = "".join(ch for ch in str(typed).upper() if not ch.isspace() and ch != "-")[:32]
        now, since = self.store._now(), self.store._now() - bounds.JOIN_WINDOW_SECONDS
        minutes = bounds.JOIN_WINDOW_SECONDS // 60

        def work(connection):
            connection.execute(join_failures.delete().where(join_failures.c.at <= since))
            recent = sa.select(sa.func.count()).select_from(join_failures)
            if connection.execute(recent.where(join_failures.c.who == who)).scalar_one() \
                    >= bounds.JOIN_FAILURES_PER_BROWSER:
                raise StoreError("join_rate_limited", minutes=minutes)
            if connection.execute(recent).scalar_one() >= bounds.JOIN_FAILURES_EVERYWHERE:
                raise StoreError("join_busy", minutes=minutes)
            row = None
            if len(join) == bounds.JOIN_CODE_LENGTH and set(join) <= set(JOIN_ALPHABET):
                row = connection.execute(sa.select(class_joins).where(
                    class_joins.c.join_hash == token_hash(join), class_joins.c.expires_at >= now)).first()
            if row is None or not hmac.compare_digest(row.join_hash, token_hash(join)):
                connection.execute(join_failures.insert().values(who=who[:64], at=now))
                return None
            return _seal_open(bytes.fromhex(row.sealed), join, row.salt)
        found = self.store._run(work)
        if found is None:
            raise StoreError("join_code_wrong")
        return found


def _drawing_closed(connection, class_id: int) -> bool:
    return bool(connection.execute(sa.select(classes.c.drawing_closed).where(classes.c.id == class_id)).scalar())


def _keystream(join: str, salt: str, length: int) -> bytes:
    key = hashlib.sha256(f"{salt}:{join}".encode()).digest()
    blocks = (hashlib.sha256(key + bytes([n])).digest() for n in range((length + 31) // 32))
    return b"".join(blocks)[:length]


def _seal(code: str, join: str, salt: str) -> bytes:
    plain = code.encode("ascii")
    return bytes(a ^ b for a, b in zip(plain, _keystream(join, salt, len(plain))))


def _seal_open(sealed: bytes, join: str, salt: str) -> str:
    return bytes(a ^ b for a, b in zip(sealed, _keystream(join, salt, len(sealed)))).decode("ascii")
