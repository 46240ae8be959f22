"""digest_selections: each distinct digest content stored once, the delivery rows pointing at it (issue 13)

Replaces ``digest_items`` (one row per subscriber and paper). Each existing delivery row's
items become a selection of its own, with the row's id as the selection's id (a run's rows
shared nothing in the old table, so there is nothing to deduplicate safely by key), and the
downgrade writes the items back per row.

Revision ID: 0010_digest_selections
Revises: 0009_outbox_claim_index
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_digest_selections"
down_revision = "0009_outbox_claim_index"
branch_labels = None
depends_on = None

_SELECTIONS = "INSERT INTO digest_selections (id, created_at) SELECT id, created_at FROM digest_outbox"
_ITEMS = (
    "INSERT INTO digest_selection_items (selection_id, position, paper_id, reason) "
    "SELECT outbox_id, position, paper_id, reason FROM digest_items"
)
# PostgreSQL: the ids were written explicitly, so the sequence must move past them.
_SEQUENCE = (
    "SELECT setval(pg_get_serial_sequence('digest_selections', 'id'), "
    "COALESCE((SELECT max(id) FROM digest_selections), 0) + 1, false)"
)
_ITEMS_ASIDE = (
    "CREATE TABLE digest_items_aside AS "
    "SELECT o.subscriber_id, i.paper_id, o.id AS outbox_id, i.position, i.reason "
    "FROM digest_outbox AS o JOIN digest_selection_items AS i ON i.selection_id = o.selection_id"
)
# Back to one row per (subscriber, paper); the old key keeps the first digest that sent a paper.
_ITEMS_BACK = (
    "INSERT INTO digest_items (subscriber_id, paper_id, outbox_id, position, reason) "
    "SELECT subscriber_id, paper_id, outbox_id, position, reason FROM digest_items_aside "
    "WHERE true ORDER BY outbox_id, position "
    "ON CONFLICT (subscriber_id, paper_id) DO NOTHING"
)


def upgrade() -> None:
    op.create_table(
        "digest_selections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_selections")),
    )
    op.create_table(
        "digest_selection_items",
        sa.Column("selection_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_id"], ["papers.id"], name=op.f("fk_digest_selection_items_paper_id_papers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["selection_id"],
            ["digest_selections.id"],
            name=op.f("fk_digest_selection_items_selection_id_digest_selections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("selection_id", "position", name=op.f("pk_digest_selection_items")),
    )
    with op.batch_alter_table("digest_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("selection_id", sa.Integer(), nullable=True))
    bind = op.get_bind()
    op.execute(_SELECTIONS)
    op.execute(_ITEMS)
    op.execute("UPDATE digest_outbox SET selection_id = id")
    if bind.dialect.name == "postgresql":
        op.execute(_SEQUENCE)
    # Dropped before SQLite's batch mode copies digest_outbox: dropping the old copy would cascade into it.
    op.drop_index("ix_digest_items_outbox_id", table_name="digest_items")
    op.drop_index("ix_digest_items_paper_id", table_name="digest_items")
    op.drop_table("digest_items")
    with op.batch_alter_table("digest_outbox", schema=None) as batch_op:
        batch_op.alter_column("selection_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_digest_outbox_selection_id_digest_selections"),
            "digest_selections",
            ["selection_id"],
            ["id"],
        )
        batch_op.create_index("ix_digest_outbox_subscriber_selection", ["subscriber_id", "selection_id"], unique=False)
        batch_op.create_index("ix_digest_outbox_selection_id", ["selection_id"], unique=False)
    # Built after the copy: one sort instead of an index insertion per item.
    op.create_index(
        "ix_digest_selection_items_paper_id", "digest_selection_items", ["paper_id", "selection_id"], unique=False
    )


def downgrade() -> None:
    # The items per delivery row, kept aside while SQLite's batch mode copies digest_outbox (a table
    # that referred to it would lose its rows to the cascade when the old copy is dropped).
    op.execute(_ITEMS_ASIDE)
    with op.batch_alter_table("digest_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_digest_outbox_selection_id")
        batch_op.drop_index("ix_digest_outbox_subscriber_selection")
        batch_op.drop_constraint(batch_op.f("fk_digest_outbox_selection_id_digest_selections"), type_="foreignkey")
        batch_op.drop_column("selection_id")
    op.drop_index("ix_digest_selection_items_paper_id", table_name="digest_selection_items")
    op.drop_table("digest_selection_items")
    op.drop_table("digest_selections")
    op.create_table(
        "digest_items",
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["digest_outbox.id"],
            name=op.f("fk_digest_items_outbox_id_digest_outbox"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["paper_id"], ["papers.id"], name=op.f("fk_digest_items_paper_id_papers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_digest_items_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subscriber_id", "paper_id", name=op.f("pk_digest_items")),
    )
    op.execute(_ITEMS_BACK)
    op.drop_table("digest_items_aside")
    op.create_index("ix_digest_items_paper_id", "digest_items", ["paper_id", "subscriber_id"], unique=False)
    op.create_index("ix_digest_items_outbox_id", "digest_items", ["outbox_id"], unique=False)
