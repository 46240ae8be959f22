"""digest_outbox: an index on (state, id), so a claim reads the oldest queued rows instead of every row sent

Revision ID: 0009_outbox_claim_index
Revises: 0008_paper_categories
"""

from __future__ import annotations

from alembic import op

revision = "0009_outbox_claim_index"
down_revision = "0008_paper_categories"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_digest_outbox_claim", "digest_outbox", ["state", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_digest_outbox_claim", table_name="digest_outbox")
