"""topic_vectors: each distinct digest topic's query vector kept between runs, per model (issue 13)

A new table only: the first run after the upgrade embeds its topics as before and stores them.
The downgrade drops it (the vectors are derived data; the next run embeds again).

Revision ID: 0012_topic_vectors
Revises: 0011_drop_outbox_state_index
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_topic_vectors"
down_revision = "0011_drop_outbox_state_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "topic_vectors",
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("space", sa.String(length=64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("topic", "space", name=op.f("pk_topic_vectors")),
    )


def downgrade() -> None:
    op.drop_table("topic_vectors")
