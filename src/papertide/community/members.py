"""Members: choosing a handle and display name, profile pages, and the operator's role and
suspension commands (issue 11).

Members choose a handle at first sign-in (pages send a member without one to the profile form
before anything they would sign, see community/guard.py ProfileRequired). A handle may change
later, a few times a day at most; the old ``/u/<handle>`` address then no longer resolves.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from papertide.community.guard import load_member, take_slot
from papertide.community.moderation import check_may_suspend, parse_suspension_reason
from papertide.domain.accounts import Role, User
from papertide.domain.clock import Clock, utc_now
from papertide.domain.collections import Collection
from papertide.domain.comments import Comment
from papertide.domain.errors import NotFound, Suspended
from papertide.domain.members import parse_display_name, parse_handle
from papertide.domain.models import StoredPaper
from papertide.domain.submissions import Submission
from papertide.store.accounts import get_user_by_email
from papertide.store.collections import list_member_collections
from papertide.store.comments import list_member_comments
from papertide.store.engine import begin_write
from papertide.store.members import clear_suspension, get_user_by_handle, write_profile, write_role, write_suspension
from papertide.store.papers import get_papers
from papertide.store.submissions import list_member_submissions

PROFILE_CHANGES_PER_DAY = 5


@dataclass(frozen=True, slots=True)
class MemberPage:
    """What ``/u/<handle>`` shows: the member, their submissions, public collections and recent comments.

    ``papers`` holds every paper the submissions and comments refer to, by id.
    """

    member: User
    submissions: tuple[Submission, ...]
    collections: tuple[Collection, ...]
    comments: tuple[Comment, ...]
    papers: dict[int, StoredPaper]


class Members:
    """Member profiles on one database."""

    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock

    def get(self, member_id: int) -> User:
        """A member by id; NotFound when there is none."""
        with self.engine.connect() as conn:
            return load_member(conn, member_id)

    def get_by_handle(self, handle: str) -> User:
        """A member by handle (any case); NotFound when nobody has it."""
        with self.engine.connect() as conn:
            member = get_user_by_handle(conn, handle)
        if member is None:
            raise NotFound(f"no member @{handle.strip().lower()[:40]}")
        return member

    def choose_profile(self, member_id: int, *, handle: str, display_name: str) -> User:
        """Set or change one's handle and display name; InvalidInput names a bad or taken handle."""
        clean_handle, clean_name = parse_handle(handle), parse_display_name(display_name)
        now = self.clock()
        with begin_write(self.engine) as conn:
            member = load_member(conn, member_id)
            if member.is_suspended:
                raise Suspended("your account is suspended: you can read but not change your profile")
            if member.handle == clean_handle and member.display_name == clean_name:
                return member
            take_slot(
                conn, f"profile:user:{member.id}", PROFILE_CHANGES_PER_DAY, dt.timedelta(days=1), now, "profile changes"
            )
            write_profile(conn, member.id, handle=clean_handle, display_name=clean_name)
            return load_member(conn, member.id)

    def read_page(self, handle: str, *, limit: int = 30) -> MemberPage:
        """The public profile of ``/u/<handle>``; NotFound when nobody has the handle."""
        member = self.get_by_handle(handle)
        with self.engine.connect() as conn:
            submissions = list_member_submissions(conn, member.id, limit=limit)
            comments = list_member_comments(conn, member.id, limit=limit)
            collections = list_member_collections(conn, member.id, public_only=True)
            ids = [s.paper_id for s in submissions] + [c.paper_id for c in comments]
            papers = {paper.id: paper for paper in get_papers(conn, list(dict.fromkeys(ids)))}
        return MemberPage(
            member=member,
            submissions=tuple(submissions),
            collections=tuple(collections),
            comments=tuple(comments),
            papers=papers,
        )


# --- the operator's commands (papertide users ...) -----------------------------------------------


def _by_email(conn: Connection, email: str) -> User:
    member = get_user_by_email(conn, email.strip().lower())
    if member is None:
        raise NotFound(f"no member with the address {email.strip()!r} (they must sign in once first)")
    return member


def grant_role(engine: Engine, email: str, role: Role) -> bool:
    """Give the member with this address a role; False when they had it already."""
    with begin_write(engine) as conn:
        return write_role(conn, _by_email(conn, email).id, role)


def suspend_by_email(engine: Engine, email: str, *, reason: str = "", now: dt.datetime) -> bool:
    """Suspend the member with this address (the operator may suspend anyone); False when already suspended."""
    text = parse_suspension_reason(reason)
    with begin_write(engine) as conn:
        member = _by_email(conn, email)
        check_may_suspend(None, member)
        return write_suspension(conn, member.id, reason=text, now=now)


def unsuspend_by_email(engine: Engine, email: str) -> bool:
    """Lift the suspension of the member with this address; False when they were not suspended."""
    with begin_write(engine) as conn:
        return clear_suspension(conn, _by_email(conn, email).id)
