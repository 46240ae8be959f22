"""digest_outbox: the claim index holds only the rows in flight, in id order (issue 13)

``ix_digest_outbox_claim`` (state, id) held every delivery row ever planned, and PostgreSQL did not
always read it: when its statistics said many rows were queued, the primary key in id order looked
cheaper, and a claim walked every row already sent before the queued ones (5.8 s of the server's
time for 100,000 digests claimed 200 at a time, against 1.4 s from the index; each day's sent rows
make it longer). ``ix_digest_outbox_in_flight`` (id) WHERE state IN ('queued', 'sending') holds
only what is queued or being sent: the oldest queued rows are its first entries whatever the
statistics say, a send writes no entry in it, and the rows held by a worker are found among the
rows in flight rather than among every row ever planned. The queries that read it name its WHERE
term (schema.py ``OUTBOX_IN_FLIGHT``).

Revision ID: 0014_outbox_in_flight_index
Revises: 0013_planning_writes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_outbox_in_flight_index"
down_revision = "0013_planning_writes"
branch_labels = None
depends_on = None

IN_FLIGHT = "state IN ('queued', 'sending')"


def upgrade() -> None:
    op.create_index(
        "ix_digest_outbox_in_flight",
        "digest_outbox",
        ["id"],
        unique=False,
        postgresql_where=sa.text(IN_FLIGHT),
        sqlite_where=sa.text(IN_FLIGHT),
    )
    op.drop_index("ix_digest_outbox_claim", table_name="digest_outbox")


def downgrade() -> None:
    op.create_index("ix_digest_outbox_claim", "digest_outbox", ["state", "id"], unique=False)
    op.drop_index("ix_digest_outbox_in_flight", table_name="digest_outbox")
