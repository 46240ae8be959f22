"""listing extras: Hugging Face's submitter, thumbnail, GitHub stars and project page per listing

Revision ID: 0006_listing_extras
Revises: 0005_community
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_listing_extras"
down_revision = "0005_community"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("paper_signals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submitted_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("thumbnail_url", sa.String(length=512), nullable=True))
        batch_op.add_column(sa.Column("github_stars", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("project_page", sa.String(length=512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("paper_signals", schema=None) as batch_op:
        batch_op.drop_column("project_page")
        batch_op.drop_column("github_stars")
        batch_op.drop_column("thumbnail_url")
        batch_op.drop_column("submitted_by")
