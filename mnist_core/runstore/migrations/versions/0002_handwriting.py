"""A class's own handwriting (issue #28): its drawings, join codes and wrong-join-code counts,
and a class's "drawing closed" switch.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("classes") as batch:
        batch.add_column(sa.Column("drawing_closed", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "drawings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("class_id", sa.Integer, sa.ForeignKey("classes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("learner_id", sa.Integer, sa.ForeignKey("learners.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("label", sa.SmallInteger, nullable=False),
        sa.Column("image", sa.LargeBinary, nullable=False),
        sa.Column("strokes", sa.JSON, nullable=False),
        sa.Column("withheld", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sqlite_autoincrement=True)     # never a removed drawing's id again: the caches key on ids
    op.create_index("ix_drawings_class", "drawings", ["class_id", "id"])
    op.create_index("ix_drawings_learner", "drawings", ["learner_id", "created_at"])
    op.create_table(
        "class_joins",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("class_id", sa.Integer, sa.ForeignKey("classes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("join_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("salt", sa.String(32), nullable=False),
        sa.Column("sealed", sa.String(128), nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False))
    op.create_table(
        "join_failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("who", sa.String(64), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False))
    op.create_index("ix_join_failures_at", "join_failures", ["at"])


def downgrade() -> None:
    for table in ("join_failures", "class_joins", "drawings"):
        op.drop_table(table)
    with op.batch_alter_table("classes") as batch:
        batch.drop_column("drawing_closed")
