"""The first schema: learners, their runs, classes and the runs published to them.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "learners",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("seen_at", sa.BigInteger, nullable=False))
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("learner_id", sa.Integer, sa.ForeignKey("learners.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("arch", sa.String(40), nullable=False),
        sa.Column("parameters", sa.Integer, nullable=False),
        sa.Column("test_accuracy", sa.Float, nullable=False),
        sa.Column("train_seconds", sa.Float, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("record", sa.JSON, nullable=False),
        sa.Column("model_size", sa.Integer, nullable=False),
        sa.Column("model", sa.LargeBinary, nullable=False))
    op.create_index("ix_runs_learner", "runs", ["learner_id", "created_at"])
    op.create_index("ix_runs_created", "runs", ["created_at"])
    op.create_table(
        "classes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("teacher_hash", sa.String(64), nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("learners.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("closed", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_index("ix_classes_creator", "classes", ["created_by", "created_at"])
    op.create_table(
        "entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("class_id", sa.Integer, sa.ForeignKey("classes.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("learner_id", sa.Integer, sa.ForeignKey("learners.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("display_name", sa.String(40), nullable=False),
        sa.Column("published_at", sa.BigInteger, nullable=False),
        sa.Column("hidden", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("class_id", "run_id", name="uq_entries_class_run"))
    op.create_index("ix_entries_learner", "entries", ["learner_id", "published_at"])
    op.create_index("ix_entries_class", "entries", ["class_id", "published_at"])


def downgrade() -> None:
    for table in ("entries", "classes", "runs", "learners"):
        op.drop_table(table)
