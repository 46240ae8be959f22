"""paper_categories: one row per (paper, category), so category pages read an index, not every paper's JSON

Revision ID: 0008_paper_categories
Revises: 0007_ingest_run_owner
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_paper_categories"
down_revision = "0007_ingest_run_owner"
branch_labels = None
depends_on = None

# Backfill from papers.categories in one statement per dialect: each name once per paper, at most
# 64 characters (the column; longer names are no arXiv category and were never listed).
_BACKFILL = {
    "sqlite": (
        "INSERT INTO paper_categories (paper_id, category, published) "
        "SELECT DISTINCT papers.id, entry.value, papers.published FROM papers, json_each(papers.categories) AS entry "
        "WHERE entry.type = 'text' AND entry.value != '' AND length(entry.value) <= 64"
    ),
    "postgresql": (
        "INSERT INTO paper_categories (paper_id, category, published) "
        "SELECT DISTINCT papers.id, entry.value, papers.published "
        "FROM papers, json_array_elements_text(CASE WHEN json_typeof(CAST(papers.categories AS json)) = 'array' "
        "THEN CAST(papers.categories AS json) ELSE CAST('[]' AS json) END) AS entry(value) "
        "WHERE entry.value != '' AND char_length(entry.value) <= 64"
    ),
}


def upgrade() -> None:
    op.create_table(
        "paper_categories",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("published", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["paper_id"],
            ["papers.id"],
            name=op.f("fk_paper_categories_paper_id_papers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("paper_id", "category", name=op.f("pk_paper_categories")),
    )
    op.execute(_BACKFILL[op.get_bind().dialect.name])
    # Built after the backfill: one sort instead of a million index insertions.
    op.create_index(
        "ix_paper_categories_category", "paper_categories", ["category", "published", "paper_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_paper_categories_category", table_name="paper_categories")
    op.drop_table("paper_categories")
