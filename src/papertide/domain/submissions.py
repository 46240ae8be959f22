"""Papers members put on today's list, and which rule decided what a submission did (issue 11)."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from papertide.domain.models import StoredPaper


class SubmissionRule(enum.Enum):
    """What happened to a submitted paper; ``message`` of the outcome says it in words."""

    # Not in papertide before: fetched from arXiv, stored, indexed and listed today.
    LISTED_NEW = "listed-new"
    # Stored but never listed: listed today.
    LISTED = "listed"
    # Listed on an earlier day and recent enough: listed again today.
    RELISTED = "relisted"
    # Already on today's list: nothing changed.
    ALREADY_TODAY = "already-today"
    # Published longer ago than the maximum age: stored (when new) but not put on today's list.
    TOO_OLD = "too-old"


@dataclass(frozen=True, slots=True)
class Submission:
    """A member's submission of a paper for one day's list."""

    id: int
    paper_id: int
    user_id: int | None
    submitter_handle: str | None
    submitter_name: str | None
    listed_on: dt.date
    previous_listed_on: dt.date | None
    created_at: dt.datetime
    removed_at: dt.datetime | None = None
    removed_by: int | None = None

    @property
    def is_removed(self) -> bool:
        """Whether a moderator took it off the list."""
        return self.removed_at is not None


@dataclass(frozen=True, slots=True)
class SubmissionOutcome:
    """The result of submitting an arXiv id: the paper, the rule that applied and a sentence for the member."""

    rule: SubmissionRule
    paper: StoredPaper
    message: str
    submission: Submission | None = None

    @property
    def listed_today(self) -> bool:
        """Whether this request put the paper on today's list."""
        return self.rule in (SubmissionRule.LISTED_NEW, SubmissionRule.LISTED, SubmissionRule.RELISTED)
