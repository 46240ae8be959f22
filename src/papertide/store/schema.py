"""Table definitions in portable SQLAlchemy Core types (SQLite and PostgreSQL).

The tables are created and changed only by the Alembic migrations in ``migrations/``;
these definitions are what the code queries against and must match them
(tests/store/test_migrations.py compares the two).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class Instant(TypeDecorator[dt.datetime]):
    """A point in time, stored as UTC on every database.

    SQLite has no time zones: SQLAlchemy stores an aware datetime's clock reading and drops its
    offset, so 09:00+02:00 came back as 09:00 UTC, two hours late, while PostgreSQL stored the
    instant. Every timestamp column converts to UTC before it is written; a naive datetime is
    taken as UTC already (what every reader assumes of what SQLite returns).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None or value.tzinfo is None or value.utcoffset() == dt.timedelta(0):
            return value
        return value.astimezone(dt.UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# --- papers (core) -----------------------------------------------------------------------------

papers = Table(
    "papers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("arxiv_id", String(64), nullable=False, unique=True),
    Column("version", Integer, nullable=False, default=1),
    Column("title", Text, nullable=False),
    Column("abstract", Text, nullable=False),
    Column("authors", JSON, nullable=False),
    Column("categories", JSON, nullable=False),
    Column("primary_category", String(64)),
    Column("published", Date),
    Column("updated", Date),
    Column("doi", String(255)),
    Column("journal_ref", Text),
    Column("comments", Text),
    Column("abs_url", String(512)),
    Column("pdf_url", String(512)),
    Column("code_url", String(512)),
    Column("listed_on", Date),
    Column("external_upvotes", Integer, nullable=False, default=0),
    Column("community_upvotes", Integer, nullable=False, default=0),
    # sha256 of the stored fields: tells "unchanged" from "updated" without comparing columns.
    Column("content_hash", String(64), nullable=False),
    # Change sequence: every insert or change takes the next value, so indexes kept outside
    # the database catch up by reading rows with seq above the last one they applied.
    Column("seq", BigInteger, nullable=False),
    Column("created_at", Instant(), nullable=False),
    Column("changed_at", Instant(), nullable=False),
    Index("ix_papers_published", "published"),
    Index("ix_papers_listed_on", "listed_on"),
    Index("ix_papers_seq", "seq"),
)

counters = Table(
    "counters",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

paper_signals = Table(
    "paper_signals",
    metadata,
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("source", String(32), nullable=False),
    Column("listed_on", Date, nullable=False),
    Column("upvotes", Integer, nullable=False, default=0),
    Column("comments", Integer, nullable=False, default=0),
    Column("fetched_at", Instant(), nullable=False),
    # What Hugging Face shows beside a listing (issue 11; migration 0006_listing_extras).
    Column("submitted_by", String(200)),
    Column("thumbnail_url", String(512)),
    Column("github_stars", Integer),
    Column("project_page", String(512)),
    PrimaryKeyConstraint("paper_id", "source", "listed_on"),
    Index("ix_paper_signals_listed_on", "listed_on"),
)

harvest_state = Table(
    "harvest_state",
    metadata,
    Column("source", String(32), nullable=False),
    Column("key", String(255), nullable=False),
    Column("value", JSON, nullable=False),
    Column("updated_at", Instant(), nullable=False),
    PrimaryKeyConstraint("source", "key"),
)

ingest_runs = Table(
    "ingest_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("started_at", Instant(), nullable=False),
    Column("finished_at", Instant()),
    Column("status", String(16), nullable=False),
    Column("fetched", Integer, nullable=False, default=0),
    Column("new", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),
    Column("message", Text),
    # The process running it and when it last committed a batch (0006): a run whose process
    # is gone is marked interrupted (store/runs.py).
    Column("host", String(255)),
    Column("pid", Integer),
    Column("heartbeat_at", Instant()),
)

# One row per scheduled job of `papertide serve` (jobs.py): when it is next due and
# which process holds it, so several processes never run the same job at once (store/leases.py).
job_leases = Table(
    "job_leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("next_run_at", Instant(), nullable=False),
    Column("holder", String(128)),
    Column("expires_at", Instant()),
    Column("last_started_at", Instant()),
    Column("last_finished_at", Instant()),
    Column("last_status", String(16)),
    Column("last_message", Text),
)

# --- search ------------------------------------------------------------------------------------

index_state = Table(
    "index_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_at", Instant(), nullable=False),
)

paper_vectors = Table(
    "paper_vectors",
    metadata,
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("model", String(255), nullable=False),
    Column("dim", Integer, nullable=False),
    # float32 little-endian, L2-normalised.
    Column("vector", LargeBinary, nullable=False),
    # The papers.seq the vector was computed from; a lower value than the paper's means stale.
    Column("seq", BigInteger, nullable=False),
    # sha256 of the embedded text: a paper whose seq moved for other reasons (upvotes) is not re-embedded.
    Column("text_hash", String(64), nullable=False),
    # Taken from the 'vector_seq' counter on every write, so vector indexes beside the database
    # catch up by reading the rows above the last change_seq they applied (search/semantic/vectors.py).
    Column("change_seq", BigInteger, nullable=False),
    Index("ix_paper_vectors_change_seq", "change_seq"),
)

# --- accounts and votes ------------------------------------------------------------------------

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("created_at", Instant(), nullable=False),
    Column("last_login_at", Instant()),
    # Sessions carry the epoch they were issued under; "sign out everywhere" bumps it.
    Column("session_epoch", Integer, nullable=False, default=0, server_default="0"),
    # Community profile (issue 11; store/members.py). Handles are stored lower-cased, so the
    # unique index makes them unique regardless of case; both stay empty until first chosen.
    Column("handle", String(30)),
    Column("display_name", String(80)),
    # member | moderator | admin
    Column("role", String(16), nullable=False, default="member", server_default="member"),
    Column("suspended_at", Instant()),
    Column("suspension_reason", Text),
    Index("uq_users_handle", "handle", unique=True),
)

login_tokens = Table(
    "login_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("email", String(320), nullable=False),
    Column("created_at", Instant(), nullable=False),
    Column("expires_at", Instant(), nullable=False),
    Column("used_at", Instant()),
    Column("next_url", String(512)),
)

votes = Table(
    "votes",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", Instant(), nullable=False),
    PrimaryKeyConstraint("user_id", "paper_id"),
    Index("ix_votes_paper_id", "paper_id"),
)

rate_events = Table(
    "rate_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(400), nullable=False),
    Column("created_at", Instant(), nullable=False),
    Index("ix_rate_events_key", "key", "created_at"),
)

# The lists and "trending now" select papers by listing date: the day a paper was featured on a
# daily list, else its publication date. This expression index serves that filter on both databases,
# and carries the upvotes so that scoring a window never reads the (wide) paper rows.
Index(
    "ix_papers_listing_date",
    func.coalesce(papers.c.listed_on, papers.c.published),
    papers.c.external_upvotes,
    papers.c.community_upvotes,
    papers.c.id,
)

# --- digest ------------------------------------------------------------------------------------

subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # Lower-cased, validated address (store/subscribers.py); one row per address.
    Column("email", String(320), nullable=False, unique=True),
    # pending -> confirmed -> unsubscribed; bouncing once permanent failures reach the limit.
    Column("status", String(16), nullable=False),
    Column("frequency", String(16), nullable=False, default="daily"),
    Column("hour", Integer, nullable=False, default=7),
    Column("timezone", String(64), nullable=False, default="UTC"),
    Column("size", Integer, nullable=False, default=10),
    # {"categories": [...], "authors": [...], "topics": [...]}
    Column("topics", JSON, nullable=False),
    Column("created_at", Instant(), nullable=False),
    Column("confirmed_at", Instant()),
    Column("unsubscribed_at", Instant()),
    # The delivery slot of the latest planned digest: the next one covers papers since then.
    Column("last_digest_at", Instant()),
    Column("bounce_count", Integer, nullable=False, default=0),
    # When the latest confirmation (or "already subscribed") mail went out; limits live in rate_events.
    Column("confirmation_sent_at", Instant()),
    Index("ix_subscribers_status", "status"),
    # Half of each page left free on PostgreSQL: planning's update of ``last_digest_at`` (no index
    # covers it) then fits on the row's own page, a HOT update that writes no index entry (0013).
    postgresql_with={"fillfactor": 50},
)

OUTBOX_IN_FLIGHT = text("state IN ('queued', 'sending')")
"""The rows of ``ix_digest_outbox_in_flight``. A query that reads that index names this very term
(store/deliveries.py): SQLite uses a partial index only for a query holding its WHERE term, and
PostgreSQL proves that ``state = $1`` implies it only when it knows the parameter's value, which a
prepared statement's generic plan does not."""

digest_outbox = Table(
    "digest_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscriber_id", Integer, ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False),
    # "day:2026-08-21" or "week:2026-W34": at most one digest per subscriber and period.
    Column("period_key", String(32), nullable=False),
    # queued -> sending -> sent | failed | cancelled (see store/deliveries.py)
    Column("state", String(16), nullable=False),
    Column("message_id", String(255), nullable=False),
    # The delivery slot (the subscriber's hour, in their time zone) this digest is for.
    Column("due_at", Instant(), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Instant()),
    Column("claimed_by", String(128)),
    Column("claimed_at", Instant()),
    Column("sent_at", Instant()),
    Column("error", Text),
    Column("created_at", Instant(), nullable=False),
    # The papers of this digest: a selection shared by every digest of a run with the same key
    # (digest/plan.py SelectionCache). A selection is deleted only once no row refers to it
    # (store/selections.py), so no ON DELETE here.
    Column("selection_id", Integer, ForeignKey("digest_selections.id"), nullable=False),
    UniqueConstraint("subscriber_id", "period_key", name="uq_digest_outbox_subscriber_period"),
    # The rows in flight (queued or being sent), in id order: a claim takes the oldest queued rows from
    # it, and the takeover scans read the rows held. Without such an index both databases walked every
    # row already sent, 70-130 ms per claim at 80,000 sent (issue 13). Only rows in flight are in it:
    # a send leaves it (no entry written), and the planner is never tempted by the primary key, which
    # leads through every row ever sent (migration 0014). No index starts with the state, as each would
    # be rewritten at every claim and every send (migration 0011).
    Index("ix_digest_outbox_in_flight", "id", postgresql_where=OUTBOX_IN_FLIGHT, sqlite_where=OUTBOX_IN_FLIGHT),
    # No index on the period key alone: every query on it also names the subscriber (migration 0013).
    # Planning reads, for a range of subscribers, the selections they were sent (covering: no table reads).
    Index("ix_digest_outbox_subscriber_selection", "subscriber_id", "selection_id"),
    # Whether any row still refers to a selection (erasing a subscriber drops the selections left unused).
    Index("ix_digest_outbox_selection_id", "selection_id"),
)

# One distinct digest content of a planning run (issue 13): many subscribers' digests point at
# the same selection, so its items are stored once, not once per subscriber.
digest_selections = Table(
    "digest_selections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", Instant(), nullable=False),
)

digest_selection_items = Table(
    "digest_selection_items",
    metadata,
    Column("selection_id", Integer, ForeignKey("digest_selections.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    # Why the paper was chosen, as shown in the digest ("matches your topic 'neural ODEs'"): it
    # quotes the subscribers' topics, so a selection no digest refers to any more is deleted.
    Column("reason", Text, nullable=False),
    PrimaryKeyConstraint("selection_id", "position"),
    # Finds the oldest selection holding a paper of a run's pool, and serves the papers' cascade.
    Index("ix_digest_selection_items_paper_id", "paper_id", "selection_id"),
)

# The query vector of each distinct free-text digest topic, per embedding model (issue 13): a daily
# run embeds the same topics every day otherwise. ``space`` names the model and everything that makes
# vectors incomparable (search/topics.py); ``topic`` is a hash of the topic's words, never the text.
# Derived from subscribers' topics: erasing a subscriber deletes the vectors no one else's topics need.
topic_vectors = Table(
    "topic_vectors",
    metadata,
    Column("topic", String(64), nullable=False),
    Column("space", String(64), nullable=False),
    # float32, little-endian, the model's width.
    Column("vector", LargeBinary, nullable=False),
    Column("created_at", Instant(), nullable=False),
    PrimaryKeyConstraint("topic", "space"),
)

# --- community (issue 11) ----------------------------------------------------------------------

# Author names of every paper, one row per (paper, position), keyed by the normalised name
# (domain/authors.py) so that an author page finds every variant of a name. Derived from
# papers.authors and kept in step through papers.seq (store/authorship.py).
paper_authors = Table(
    "paper_authors",
    metadata,
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("author_key", String(200), nullable=False),
    Column("name", String(300), nullable=False),
    PrimaryKeyConstraint("paper_id", "position"),
    Index("ix_paper_authors_author_key", "author_key", "paper_id"),
)

# The arXiv categories of every paper, one row per (paper, category), written with the paper in
# the same transaction (store/papers.py, store/paper_categories.py). ``published`` is copied from
# the paper so that "a category's papers, newest first" and its count walk one index.
paper_categories = Table(
    "paper_categories",
    metadata,
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("category", String(64), nullable=False),
    Column("published", Date),
    PrimaryKeyConstraint("paper_id", "category"),
    Index("ix_paper_categories_category", "category", "published", "paper_id"),
)

# A member put a paper on a day's list (store/submissions.py). One row per paper and day;
# a moderator's removal keeps the row (removed_at) and restores the paper's earlier listing day.
submissions = Table(
    "submissions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("listed_on", Date, nullable=False),
    # The paper's listing day before this submission re-listed it (None: it had none).
    Column("previous_listed_on", Date),
    Column("created_at", Instant(), nullable=False),
    Column("removed_at", Instant()),
    Column("removed_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    UniqueConstraint("paper_id", "listed_on", name="uq_submissions_paper_day"),
    Index("ix_submissions_user_id", "user_id", "created_at"),
    Index("ix_submissions_listed_on", "listed_on"),
)

comments = Table(
    "comments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # One level of replies: a reply's parent is always a top-level comment (community/comments.py).
    Column("parent_id", Integer, ForeignKey("comments.id", ondelete="CASCADE")),
    # Markdown source as the member wrote it; rendered and sanitised on display (domain/markdown.py).
    Column("body", Text, nullable=False),
    # visible | hidden (by a moderator, body kept) | deleted (body erased, kept as a tombstone for replies)
    Column("state", String(16), nullable=False, default="visible"),
    Column("upvotes", Integer, nullable=False, default=0),
    Column("created_at", Instant(), nullable=False),
    Column("edited_at", Instant()),
    Column("hidden_at", Instant()),
    Column("hidden_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("deleted_at", Instant()),
    Index("ix_comments_paper_id", "paper_id", "created_at"),
    Index("ix_comments_parent_id", "parent_id"),
    Index("ix_comments_user_id", "user_id", "created_at"),
)

comment_votes = Table(
    "comment_votes",
    metadata,
    Column("comment_id", Integer, ForeignKey("comments.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", Instant(), nullable=False),
    PrimaryKeyConstraint("comment_id", "user_id"),
    Index("ix_comment_votes_user_id", "user_id"),
)

comment_reports = Table(
    "comment_reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("comment_id", Integer, ForeignKey("comments.id", ondelete="CASCADE"), nullable=False),
    Column("reporter_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", Instant(), nullable=False),
    Column("resolved_at", Instant()),
    Column("resolved_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    # hidden | deleted | dismissed
    Column("resolution", String(16)),
    UniqueConstraint("comment_id", "reporter_id", name="uq_comment_reports_comment_reporter"),
    Index("ix_comment_reports_resolved_at", "resolved_at", "created_at"),
)

collections = Table(
    "collections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("slug", String(80), nullable=False),
    # Plain text: shown through autoescaping templates, never as Markdown.
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("is_public", Boolean, nullable=False, default=False),
    Column("created_at", Instant(), nullable=False),
    Column("updated_at", Instant(), nullable=False),
    UniqueConstraint("owner_id", "slug", name="uq_collections_owner_slug"),
)

collection_items = Table(
    "collection_items",
    metadata,
    Column("collection_id", Integer, ForeignKey("collections.id", ondelete="CASCADE"), nullable=False),
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("added_at", Instant(), nullable=False),
    PrimaryKeyConstraint("collection_id", "paper_id"),
    Index("ix_collection_items_paper_id", "paper_id"),
)

author_follows = Table(
    "author_follows",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # domain/authors.py author_key: what the author page is keyed by.
    Column("author_key", String(200), nullable=False),
    # The name form the member followed, as shown and as handed to the digest.
    Column("display_name", String(300), nullable=False),
    Column("created_at", Instant(), nullable=False),
    PrimaryKeyConstraint("user_id", "author_key"),
    Index("ix_author_follows_author_key", "author_key"),
)
