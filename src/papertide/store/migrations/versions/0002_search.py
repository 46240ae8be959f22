"""search index state and paper vectors

Revision ID: 0002_search
Revises: 0001_papers
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_search"
down_revision = "0001_papers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "index_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_index_state")),
    )
    op.create_table(
        "paper_vectors",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_id"], ["papers.id"], name=op.f("fk_paper_vectors_paper_id_papers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("paper_id", name=op.f("pk_paper_vectors")),
    )
    # Vector indexes kept beside the database catch up by reading rows above the change_seq they
    # applied; writers take it from this counter inside their transaction (search/semantic/vectors.py).
    op.create_index(op.f("ix_paper_vectors_change_seq"), "paper_vectors", ["change_seq"], unique=False)
    op.execute("INSERT INTO counters(name, value) VALUES ('vector_seq', 0)")


def downgrade() -> None:
    op.execute("DELETE FROM counters WHERE name = 'vector_seq'")
    op.drop_index(op.f("ix_paper_vectors_change_seq"), table_name="paper_vectors")
    op.drop_table("paper_vectors")
    op.drop_table("index_state")
