"""digest_outbox: drop the (state, next_attempt_at) index, which no query needs since the claim index

Every state change of a delivery row (claimed, sent) rewrote an entry in each index that starts
with ``state``. Since 0009 every query that filters on the state (the claim, its takeover scan,
the counts) reads ``ix_digest_outbox_claim`` (state, id); this one was only maintained. Without
it the per-message record and held check cost a fifth less CPU on SQLite (issue 13).

Revision ID: 0011_drop_outbox_state_index
Revises: 0010_digest_selections
"""

from __future__ import annotations

from alembic import op

revision = "0011_drop_outbox_state_index"
down_revision = "0010_digest_selections"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_digest_outbox_state", table_name="digest_outbox")


def downgrade() -> None:
    op.create_index("ix_digest_outbox_state", "digest_outbox", ["state", "next_attempt_at"], unique=False)
