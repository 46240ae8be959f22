"""Author pages and following authors (issue 11).

An author page is keyed by the normalised name (domain/authors.py), so one author's variants
meet on one page, and a page whose forms collide says so. Following stores the key and a
name form; the digest matches papers by that name for the subscriber whose address is the
member's (decision: the digest reads follows, nothing is copied into digest preferences; see
docs/community.md, "Following authors").
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from papertide.community.guard import load_member, take_slot
from papertide.community.policy import CommunityPolicy
from papertide.domain.authors import Coauthor, FollowedAuthor, NameForms, parse_author_name
from papertide.domain.clock import Clock, utc_now
from papertide.domain.errors import InvalidInput, NotFound, Suspended
from papertide.domain.models import StoredPaper
from papertide.store.authorship import count_author_papers, list_author_paper_ids, list_coauthors, read_name_forms
from papertide.store.engine import begin_write
from papertide.store.follows import (
    count_followers,
    count_follows,
    delete_follow,
    insert_follow,
    is_following,
    list_follows,
)
from papertide.store.papers import get_papers

MAX_NAME_LENGTH = 300


@dataclass(frozen=True, slots=True)
class AuthorPage:
    """What an author page shows: the name forms, a page of papers newest first, co-authors, followers."""

    key: str
    names: NameForms
    papers: tuple[StoredPaper, ...]
    total: int
    coauthors: tuple[Coauthor, ...]
    followers: int


class Follows:
    """Author pages and follows on one database."""

    def __init__(self, engine: Engine, policy: CommunityPolicy | None = None, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.policy = policy or CommunityPolicy()
        self.clock = clock

    def read_author(self, author_key: str, *, limit: int = 30, offset: int = 0, coauthors: int = 20) -> AuthorPage:
        """An author's page; NotFound when no stored paper has that key."""
        with self.engine.connect() as conn:
            total = count_author_papers(conn, author_key)
            if total == 0:
                raise NotFound(f"no papers by an author {author_key!r}")
            return AuthorPage(
                key=author_key,
                names=read_name_forms(conn, author_key),
                papers=tuple(get_papers(conn, list_author_paper_ids(conn, author_key, limit=limit, offset=offset))),
                total=total,
                coauthors=tuple(list_coauthors(conn, author_key, limit=coauthors)),
                followers=count_followers(conn, author_key),
            )

    def list_followed(self, member_id: int) -> list[FollowedAuthor]:
        """The authors a member follows."""
        with self.engine.connect() as conn:
            return list_follows(conn, member_id)

    def is_following(self, member_id: int, author_key: str) -> bool:
        """Whether the member follows the author key."""
        with self.engine.connect() as conn:
            return is_following(conn, member_id, author_key)

    def follow(self, member_id: int, author_key: str, name: str | None = None) -> FollowedAuthor:
        """Follow an author page by key (idempotent).

        Without ``name`` the page's own display name is used, and the key must have papers;
        with it (following an author with no paper here yet), the name must have that key.
        """
        now = self.clock()
        with begin_write(self.engine) as conn:
            self._require_active(conn, member_id)
            if name is not None:
                parsed = parse_author_name(name[:MAX_NAME_LENGTH])
                if not parsed.key or parsed.key != author_key:
                    raise InvalidInput("name", f"{name[:60]!r} is not a form of the author {author_key!r}")
                shown = parsed.name
            else:
                if count_author_papers(conn, author_key) == 0:
                    raise NotFound(f"no papers by an author {author_key!r}")
                shown = read_name_forms(conn, author_key).display_name
            take_slot(
                conn,
                f"follow:user:{member_id}",
                self.policy.follows_per_window,
                self.policy.action_window,
                now,
                "follows",
            )
            if count_follows(conn, member_id) >= self.policy.follows_per_member and not is_following(
                conn, member_id, author_key
            ):
                raise InvalidInput("author", f"you follow {self.policy.follows_per_member} authors, the most allowed")
            insert_follow(conn, user_id=member_id, author_key=author_key, display_name=shown, now=now)
            return FollowedAuthor(author_key=author_key, display_name=shown, created_at=now)

    def unfollow(self, member_id: int, author_key: str) -> bool:
        """Stop following; False when the member did not follow that author."""
        with begin_write(self.engine) as conn:
            self._require_active(conn, member_id)
            return delete_follow(conn, user_id=member_id, author_key=author_key)

    @staticmethod
    def _require_active(conn: Connection, member_id: int) -> None:
        member = load_member(conn, member_id)
        if member.is_suspended:
            raise Suspended("your account is suspended: you can read but not change anything")
