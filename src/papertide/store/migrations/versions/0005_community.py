"""community: member profiles, submissions, comments, collections, author follows and authorship

Revision ID: 0005_community
Revises: 0004_digest
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_community"
down_revision = "0004_digest"
branch_labels = None
depends_on = None


def _users(user_column: str, table: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [user_column], ["users.id"], name=op.f(f"fk_{table}_{user_column}_users"), ondelete=ondelete
    )


def _papers(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["paper_id"], ["papers.id"], name=op.f(f"fk_{table}_paper_id_papers"), ondelete="CASCADE"
    )


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handle", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("display_name", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("role", sa.String(length=16), server_default="member", nullable=False))
        batch_op.add_column(sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("suspension_reason", sa.Text(), nullable=True))
    op.create_index("uq_users_handle", "users", ["handle"], unique=True)

    op.create_table(
        "paper_authors",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("author_key", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        _papers("paper_authors"),
        sa.PrimaryKeyConstraint("paper_id", "position", name=op.f("pk_paper_authors")),
    )
    op.create_index("ix_paper_authors_author_key", "paper_authors", ["author_key", "paper_id"], unique=False)
    # The last papers.seq applied to paper_authors; 0 makes the first catch-up read every paper.
    op.execute("INSERT INTO counters(name, value) VALUES ('authorship_seq', 0)")

    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("listed_on", sa.Date(), nullable=False),
        sa.Column("previous_listed_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by", sa.Integer(), nullable=True),
        _papers("submissions"),
        _users("user_id", "submissions", "SET NULL"),
        _users("removed_by", "submissions", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
        sa.UniqueConstraint("paper_id", "listed_on", name="uq_submissions_paper_day"),
    )
    op.create_index("ix_submissions_user_id", "submissions", ["user_id", "created_at"], unique=False)
    op.create_index("ix_submissions_listed_on", "submissions", ["listed_on"], unique=False)

    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("upvotes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hidden_by", sa.Integer(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        _papers("comments"),
        _users("user_id", "comments", "CASCADE"),
        _users("hidden_by", "comments", "SET NULL"),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["comments.id"], name=op.f("fk_comments_parent_id_comments"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    op.create_index("ix_comments_paper_id", "comments", ["paper_id", "created_at"], unique=False)
    op.create_index("ix_comments_parent_id", "comments", ["parent_id"], unique=False)
    op.create_index("ix_comments_user_id", "comments", ["user_id", "created_at"], unique=False)

    op.create_table(
        "comment_votes",
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["comment_id"], ["comments.id"], name=op.f("fk_comment_votes_comment_id_comments"), ondelete="CASCADE"
        ),
        _users("user_id", "comment_votes", "CASCADE"),
        sa.PrimaryKeyConstraint("comment_id", "user_id", name=op.f("pk_comment_votes")),
    )
    op.create_index("ix_comment_votes_user_id", "comment_votes", ["user_id"], unique=False)

    op.create_table(
        "comment_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["comment_id"], ["comments.id"], name=op.f("fk_comment_reports_comment_id_comments"), ondelete="CASCADE"
        ),
        _users("reporter_id", "comment_reports", "CASCADE"),
        _users("resolved_by", "comment_reports", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment_reports")),
        sa.UniqueConstraint("comment_id", "reporter_id", name="uq_comment_reports_comment_reporter"),
    )
    op.create_index("ix_comment_reports_resolved_at", "comment_reports", ["resolved_at", "created_at"], unique=False)

    op.create_table(
        "collections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _users("owner_id", "collections", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collections")),
        sa.UniqueConstraint("owner_id", "slug", name="uq_collections_owner_slug"),
    )
    op.create_table(
        "collection_items",
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            name=op.f("fk_collection_items_collection_id_collections"),
            ondelete="CASCADE",
        ),
        _papers("collection_items"),
        sa.PrimaryKeyConstraint("collection_id", "paper_id", name=op.f("pk_collection_items")),
    )
    op.create_index("ix_collection_items_paper_id", "collection_items", ["paper_id"], unique=False)

    op.create_table(
        "author_follows",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("author_key", sa.String(length=200), nullable=False),
        sa.Column("display_name", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _users("user_id", "author_follows", "CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "author_key", name=op.f("pk_author_follows")),
    )
    op.create_index("ix_author_follows_author_key", "author_follows", ["author_key"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_author_follows_author_key", table_name="author_follows")
    op.drop_table("author_follows")
    op.drop_index("ix_collection_items_paper_id", table_name="collection_items")
    op.drop_table("collection_items")
    op.drop_table("collections")
    op.drop_index("ix_comment_reports_resolved_at", table_name="comment_reports")
    op.drop_table("comment_reports")
    op.drop_index("ix_comment_votes_user_id", table_name="comment_votes")
    op.drop_table("comment_votes")
    op.drop_index("ix_comments_user_id", table_name="comments")
    op.drop_index("ix_comments_parent_id", table_name="comments")
    op.drop_index("ix_comments_paper_id", table_name="comments")
    op.drop_table("comments")
    op.drop_index("ix_submissions_listed_on", table_name="submissions")
    op.drop_index("ix_submissions_user_id", table_name="submissions")
    op.drop_table("submissions")
    op.execute("DELETE FROM counters WHERE name = 'authorship_seq'")
    op.drop_index("ix_paper_authors_author_key", table_name="paper_authors")
    op.drop_table("paper_authors")
    op.drop_index("uq_users_handle", table_name="users")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("suspension_reason")
        batch_op.drop_column("suspended_at")
        batch_op.drop_column("role")
        batch_op.drop_column("display_name")
        batch_op.drop_column("handle")
