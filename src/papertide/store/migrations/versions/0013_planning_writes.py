"""subscribers: room on each page for HOT updates; digest_outbox: drop the period key index (issue 13)

Planning sets ``subscribers.last_digest_at`` of every subscriber it plans for, 500 a transaction in
id order, so every row of a page is updated in the same transaction and none of the old versions can
be pruned before it commits. With full pages each new version went to another page, a non-HOT update
that wrote an entry in each of the table's three indexes. No index covers ``last_digest_at``, so
with half of each page kept free (fillfactor 50, PostgreSQL only) every new version fits beside the
old one and the update is HOT: no index entry. The setting applies to pages written from now on; an
existing table moves towards it as its rows are updated (or at once with ``VACUUM FULL subscribers``).

``ix_digest_outbox_period_key`` was only maintained: every query on the period key also names the
subscriber (the unique (subscriber_id, period_key) constraint serves it), and each delivery row and
each of its state changes (never HOT: the state is indexed) wrote an entry in it.

Revision ID: 0013_planning_writes
Revises: 0012_topic_vectors
"""

from __future__ import annotations

from alembic import op

revision = "0013_planning_writes"
down_revision = "0012_topic_vectors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_digest_outbox_period_key", table_name="digest_outbox")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE subscribers SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE subscribers RESET (fillfactor)")
    op.create_index("ix_digest_outbox_period_key", "digest_outbox", ["period_key"], unique=False)
