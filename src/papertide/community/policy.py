"""The limits of community actions, built from Settings by the composition roots (issue 11)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CommunityPolicy:
    """Every number the community services enforce; the defaults are those of config.Settings."""

    # Rate limits: at most ``*_per_window`` actions per member per window.
    comments_per_window: int = 10
    comment_window: dt.timedelta = dt.timedelta(minutes=10)
    reactions_per_window: int = 120
    reports_per_window: int = 20
    collection_actions_per_window: int = 120
    follows_per_window: int = 60
    action_window: dt.timedelta = dt.timedelta(minutes=10)
    # A member is "new" while their account is younger than ``new_member_days`` or they have fewer
    # than ``new_member_comments`` visible comments; new members may put at most
    # ``new_member_links`` links in one comment.
    new_member_days: int = 7
    new_member_comments: int = 3
    new_member_links: int = 2
    comment_max_length: int = 10_000
    report_reason_max_length: int = 500
    # Sizes.
    collections_per_member: int = 100
    papers_per_collection: int = 1000
    follows_per_member: int = 200
