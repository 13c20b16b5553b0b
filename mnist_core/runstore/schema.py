"""The store's tables (SQLAlchemy Core). Migrations (migrations/versions) create and change them;
a test checks that the migrated database and these definitions agree, on both back ends.

Times are whole seconds since the epoch (UTC): the same on SQLite and PostgreSQL, easy to compare.
Secrets, class codes and teacher keys are stored only as SHA-256 digests (hex).
"""

from __future__ import annotations

import sqlalchemy as sa

from .bounds import MAX_CLASS_NAME, MAX_DISPLAY_NAME

metadata = sa.MetaData()
NAME = 120   # a run's own name ("Your run 3 · dense" in the learner's language)

learners = sa.Table(
    "learners", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("seen_at", sa.BigInteger, nullable=False),
)

runs = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("learner_id", sa.Integer, sa.ForeignKey("learners.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("number", sa.Integer, nullable=False),          # the learner's own "run 3"
    sa.Column("name", sa.String(NAME), nullable=False),
    sa.Column("arch", sa.String(40), nullable=False),
    sa.Column("parameters", sa.Integer, nullable=False),
    sa.Column("test_accuracy", sa.Float, nullable=False),
    sa.Column("train_seconds", sa.Float, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("record", sa.JSON, nullable=False),             # spec, history, confusion, per digit
    sa.Column("model_size", sa.Integer, nullable=False),
    sa.Column("model", sa.LargeBinary, nullable=False),       # the .keras file
    sa.Index("ix_runs_learner", "learner_id", "created_at"),
    sa.Index("ix_runs_created", "created_at"),
)

classes = sa.Table(
    "classes", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("teacher_hash", sa.String(64), nullable=False),
    sa.Column("name", sa.String(MAX_CLASS_NAME), nullable=False),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("learners.id", ondelete="SET NULL")),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("closed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("drawing_closed", sa.Boolean, nullable=False, server_default=sa.false()),   # 0002
    sa.Index("ix_classes_creator", "created_by", "created_at"),
)

entries = sa.Table(     # a run published to a class under a display name
    "entries", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("class_id", sa.Integer, sa.ForeignKey("classes.id", ondelete="CASCADE"), nullable=False),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("learner_id", sa.Integer, sa.ForeignKey("learners.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("display_name", sa.String(MAX_DISPLAY_NAME), nullable=False),
    sa.Column("published_at", sa.BigInteger, nullable=False),
    sa.Column("hidden", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("class_id", "run_id", name="uq_entries_class_run"),
    sa.Index("ix_entries_learner", "learner_id", "published_at"),
    sa.Index("ix_entries_class", "class_id", "published_at"),
)

# --- A class's own handwriting (issue #28, migration 0002) ---------------------------------------

drawings = sa.Table(    # one digit a learner drew for the class: its strokes, its 28x28, its label
    "drawings", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("class_id", sa.Integer, sa.ForeignKey("classes.id", ondelete="CASCADE"), nullable=False),
    sa.Column("learner_id", sa.Integer, sa.ForeignKey("learners.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("label", sa.SmallInteger, nullable=False),
    sa.Column("image", sa.LargeBinary, nullable=False),        # 784 bytes: the 28x28 the models read
    sa.Column("strokes", sa.JSON, nullable=False),             # the canvas' paths, allow-listed
    sa.Column("withheld", sa.Boolean, nullable=False),         # the best reader named no digit
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_drawings_class", "class_id", "id"),
    sa.Index("ix_drawings_learner", "learner_id", "created_at"),
    sqlite_autoincrement=True,   # SQLite would hand a removed drawing's id to the next: the set's
)                                # version and the readings' caches key on ids

class_joins = sa.Table(  # a short join code: its digest, and the class code sealed with it
    "class_joins", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("class_id", sa.Integer, sa.ForeignKey("classes.id", ondelete="CASCADE"), nullable=False),
    sa.Column("join_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("salt", sa.String(32), nullable=False),
    sa.Column("sealed", sa.String(128), nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
)

join_failures = sa.Table(  # wrong join codes, counted for the rate limits
    "join_failures", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("who", sa.String(64), nullable=False),           # a digest of the browser's secret
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Index("ix_join_failures_at", "at"),
)
