"""The community's settings turned into the plain objects community/ and ingest/submission.py take.

Only web and cli read Settings (issue 11); shared by the pages and the commands so both apply
the same limits.
"""

from __future__ import annotations

import datetime as dt

from papertide.community.policy import CommunityPolicy
from papertide.config import Settings
from papertide.ingest.http import Politeness
from papertide.ingest.submission import SubmissionPolicy


def community_policy(settings: Settings) -> CommunityPolicy:
    """Rate limits, the new-member rules and sizes of discussion, collections and follows."""
    window = dt.timedelta(minutes=settings.community_rate_window_minutes)
    return CommunityPolicy(
        comments_per_window=settings.comments_per_member,
        comment_window=dt.timedelta(minutes=settings.comment_rate_window_minutes),
        reactions_per_window=settings.community_actions_per_member,
        reports_per_window=settings.comment_reports_per_member,
        collection_actions_per_window=settings.community_actions_per_member,
        follows_per_window=settings.community_actions_per_member,
        action_window=window,
        new_member_days=settings.new_member_days,
        new_member_comments=settings.new_member_comments,
        new_member_links=settings.new_member_links,
        comment_max_length=settings.comment_max_length,
        collections_per_member=settings.collections_per_member,
        papers_per_collection=settings.papers_per_collection,
        follows_per_member=settings.follows_per_member,
    )


def submission_policy(settings: Settings) -> SubmissionPolicy:
    """How old a submitted paper may be, how many a member may submit, and which calendar decides "today"."""
    return SubmissionPolicy(
        max_age_days=settings.submit_max_age_days,
        per_member_per_day=settings.submit_per_member_per_day,
        list_timezone=settings.list_timezone,
    )


def submission_politeness(settings: Settings) -> Politeness:
    """How a submission's single arXiv request behaves: the ingest politeness, with one retry.

    A member is waiting on the page, so a submission does not wait through the full back-off.
    """
    return Politeness(
        user_agent=settings.ingest_user_agent,
        spacing_s=settings.ingest_request_spacing_s,
        timeout_s=min(settings.ingest_timeout_s, 15.0),
        retries=1,
        backoff_s=min(settings.ingest_backoff_s, 3.0),
        max_wait_s=10.0,
    )
