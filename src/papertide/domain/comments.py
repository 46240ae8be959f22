"""Discussion on a paper: comments with one level of replies, reactions and reports (issue 11)."""

from __future__ import annotations

import datetime as dt
import enum
import unicodedata
from dataclasses import dataclass

from papertide.domain.errors import InvalidInput
from papertide.domain.markdown import render_markdown
from papertide.domain.plain_text import text_problem


class CommentState(enum.Enum):
    """Whether a comment is shown: hidden ones keep their body for moderators; deleted ones lose it."""

    VISIBLE = "visible"
    HIDDEN = "hidden"
    DELETED = "deleted"


class ReportResolution(enum.Enum):
    """What a moderator did about a reported comment."""

    HIDDEN = "hidden"
    DELETED = "deleted"
    DISMISSED = "dismissed"


@dataclass(frozen=True, slots=True)
class Comment:
    """One comment as stored; ``body`` is the member's Markdown ("" once deleted, or withheld from the reader)."""

    id: int
    paper_id: int
    author_id: int
    author_handle: str | None
    author_name: str
    parent_id: int | None
    body: str
    state: CommentState
    upvotes: int
    created_at: dt.datetime
    edited_at: dt.datetime | None = None
    hidden_at: dt.datetime | None = None
    hidden_by: int | None = None
    deleted_at: dt.datetime | None = None

    @property
    def is_reply(self) -> bool:
        """Whether this answers another comment."""
        return self.parent_id is not None

    @property
    def is_edited(self) -> bool:
        """Whether the author changed it after posting (pages say "edited")."""
        return self.edited_at is not None

    @property
    def body_html(self) -> str:
        """The body rendered and sanitised (domain/markdown.py); "" when there is nothing to show."""
        return render_markdown(self.body) if self.body else ""


@dataclass(frozen=True, slots=True)
class CommentThread:
    """A top-level comment and its replies, oldest first."""

    comment: Comment
    replies: tuple[Comment, ...] = ()


@dataclass(frozen=True, slots=True)
class CommentCounts:
    """Comments on a paper: papertide's own (visible ones) and Hugging Face's ``numComments``, kept apart."""

    own: int = 0
    hugging_face: int = 0


@dataclass(frozen=True, slots=True)
class CommentReport:
    """A member's report of a comment and, once handled, what a moderator did."""

    id: int
    comment_id: int
    reporter_id: int
    reason: str
    created_at: dt.datetime
    resolved_at: dt.datetime | None = None
    resolved_by: int | None = None
    resolution: ReportResolution | None = None


@dataclass(frozen=True, slots=True)
class ReportedComment:
    """One entry of the moderation queue: the comment, its paper and its open reports."""

    comment: Comment
    paper_arxiv_id: str
    paper_title: str
    reports: tuple[CommentReport, ...]


@dataclass(frozen=True, slots=True)
class ReactionOutcome:
    """A member's upvote on a comment after a request, and the comment's total."""

    voted: bool
    changed: bool
    upvotes: int


def parse_comment_body(raw: str, max_length: int) -> str:
    """A comment's Markdown as stored: line ends unified, trimmed, not empty, not too long, no control characters."""
    text = (raw if isinstance(raw, str) else "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise InvalidInput("body", "write something first")
    if len(text) > max_length:
        raise InvalidInput("body", f"must be at most {max_length} characters, got {len(text)}")
    for ch in text:
        if unicodedata.category(ch) == "Cc" and ch not in "\n\t":
            raise InvalidInput("body", f"contains the control character U+{ord(ch):04X}")
    if problem := text_problem(text, multiline=True):
        raise InvalidInput("body", problem)
    return text


def parse_report_reason(raw: str, max_length: int) -> str:
    """Why a member reports a comment: one short paragraph, required."""
    text = " ".join((raw if isinstance(raw, str) else "").split())
    if problem := text_problem(text):
        raise InvalidInput("reason", problem)
    if not text:
        raise InvalidInput("reason", "say briefly what is wrong with this comment")
    if len(text) > max_length:
        raise InvalidInput("reason", f"must be at most {max_length} characters, got {len(text)}")
    return text
