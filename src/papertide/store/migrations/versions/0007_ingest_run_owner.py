"""ingest_runs: which process runs a run and when it last showed life, so killed runs are marked interrupted

Revision ID: 0007_ingest_run_owner
Revises: 0006_listing_extras
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_ingest_run_owner"
down_revision = "0006_listing_extras"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ingest_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("host", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ingest_runs", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("pid")
        batch_op.drop_column("host")
