"""Members submit a paper by arXiv id or URL; it is fetched, stored, indexed and put on today's list.

Lives in ingest because it fetches through the polite arXiv API client; the web layer calls it
(community must not import ingest). The rules (docs/community.md, "Submitting a paper"):

- An id already on today's list changes nothing ("already listed today").
- A paper published more than ``max_age_days`` ago is not put on today's list (Hugging Face's
  rule of thumb: recent papers only); when it was new to papertide it is stored anyway and
  stays on the list of its publication day.
- Otherwise the paper is listed today, re-listed when it was listed on an earlier day, with
  the submitter recorded and their upvote added.
- An unknown id, a withdrawn paper or the arXiv API failing raise an error and store nothing:
  the paper, its listing, the submission and the upvote land in one transaction after the fetch.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from papertide.domain.accounts import User
from papertide.domain.clock import utc_now
from papertide.domain.errors import (
    InvalidInput,
    InvalidRecord,
    NotFound,
    PapertideError,
    ProfileRequired,
    RateLimited,
    Suspended,
)
from papertide.domain.identifiers import parse_arxiv_id
from papertide.domain.models import Paper, StoredPaper
from papertide.domain.periods import local_date
from papertide.domain.submissions import SubmissionOutcome, SubmissionRule
from papertide.ingest.arxiv_api import parse_atom_feed
from papertide.ingest.http import FetchError, PoliteClient
from papertide.ingest.pipeline import ChangeHook
from papertide.store.accounts import get_user
from papertide.store.authorship import catch_up_authorship
from papertide.store.engine import begin_write
from papertide.store.papers import get_paper_by_arxiv_id, upsert_papers
from papertide.store.ratelimits import RateRule, take_rate_slots
from papertide.store.submissions import insert_submission, write_listing_date
from papertide.store.votes import write_vote

SOURCE = "submission"
DAY = dt.timedelta(days=1)
# Fetches from arXiv a member may cause per day, unknown ids included: the daily limit times this.
FETCHES_PER_SUBMISSION = 3
_HF_URL = re.compile(r"^https?://(?:www\.)?huggingface\.co/papers/(?P<id>[^/?#]+)/?$")
_WITHDRAWN = re.compile(r"\b(?:this (?:paper|article|submission) )?(?:has been |was |is )?withdrawn\b", re.IGNORECASE)


class UnknownPaper(NotFound):
    """arXiv has no paper with the id."""


class PaperWithdrawn(PapertideError):
    """The paper was withdrawn by its authors; withdrawn papers are not listed."""


class ArxivUnavailable(PapertideError):
    """The arXiv API could not be reached or answered with an error; nothing was stored."""


@dataclass(frozen=True, slots=True)
class SubmissionPolicy:
    """Limits of submissions; built from Settings by the composition roots."""

    max_age_days: int = 14
    per_member_per_day: int = 10
    list_timezone: str = "UTC"


def parse_submitted_id(raw: str) -> str:
    """The arXiv id without version from what a member typed: an id, ``arXiv:`` id, abs/pdf/Hugging Face URL."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        raise InvalidInput("arxiv_id", "enter an arXiv id such as 2501.01234 or hep-th/9901001, or its URL")
    hugging_face = _HF_URL.match(text)
    if hugging_face:
        text = hugging_face.group("id")
    if text.startswith(("arxiv.org/", "www.arxiv.org/", "export.arxiv.org/")):
        text = "https://" + text
    try:
        arxiv_id, _version = parse_arxiv_id(text)
    except InvalidRecord:
        raise InvalidInput(
            "arxiv_id", f"{raw.strip()[:80]!r} is not an arXiv id or URL (e.g. 2501.01234, hep-th/9901001)"
        ) from None
    return arxiv_id


def is_withdrawn(paper: Paper) -> bool:
    """Whether arXiv's record says the paper was withdrawn (its comment, or an abstract that only says so)."""
    if paper.comments and _WITHDRAWN.search(paper.comments):
        return True
    return bool(re.match(r"^\s*this (?:paper|article|submission) (?:has been|was|is) withdrawn", paper.abstract, re.I))


def fetch_arxiv_paper(client: PoliteClient, api_url: str, arxiv_id: str) -> Paper:
    """The paper's metadata from the arXiv API (``id_list``); UnknownPaper, PaperWithdrawn or ArxivUnavailable."""
    try:
        fetched = client.fetch(api_url, {"id_list": arxiv_id, "max_results": 1})
    except FetchError as error:
        raise ArxivUnavailable(f"the arXiv API did not answer ({error}); nothing was stored, try again later") from None
    try:
        page = parse_atom_feed(fetched.content, f"arxiv-api {fetched.url}")
    except InvalidRecord as error:
        if "refused the query" in error.reason:
            raise UnknownPaper(f"arXiv has no paper {arxiv_id}: {error.reason}") from None
        raise ArxivUnavailable(
            f"the arXiv API answered something unreadable ({error.reason}); nothing was stored"
        ) from None
    papers = [item for item in page.items if isinstance(item, Paper) and item.arxiv_id == arxiv_id]
    if not papers:
        raise UnknownPaper(f"arXiv has no paper {arxiv_id}")
    paper = papers[0]
    if is_withdrawn(paper):
        raise PaperWithdrawn(f"{arxiv_id} was withdrawn by its authors; withdrawn papers are not listed")
    return paper


def _check_member(conn: Connection, member_id: int) -> User:
    member = get_user(conn, member_id)
    if member is None:
        raise NotFound(f"no member with id {member_id}")
    if member.is_suspended:
        raise Suspended("your account is suspended: you can read but not submit papers")
    if not member.handle:
        raise ProfileRequired("choose a handle and a display name before submitting a paper")
    return member


def _take_slot(conn: Connection, key: str, limit: int, now: dt.datetime, what: str) -> None:
    decision = take_rate_slots(conn, [RateRule(key, limit, DAY)], now)
    if not decision.allowed:
        hours = max(1, round(decision.retry_after_seconds / 3600))
        raise RateLimited(
            f"at most {limit} {what} in 24 hours; try again in about {hours} hour{'s' if hours != 1 else ''}",
            decision.retry_after_seconds,
        )


def _decide(
    paper: StoredPaper, *, is_new: bool, today: dt.date, policy: SubmissionPolicy
) -> tuple[SubmissionRule, str]:
    arxiv_id = paper.paper.arxiv_id
    published = paper.paper.published or paper.paper.updated
    listed = paper.paper.listed_on
    if listed == today and not is_new:
        return SubmissionRule.ALREADY_TODAY, f"{arxiv_id} is already on today's list ({today:%d %b %Y})."
    if published is not None and (today - published).days > policy.max_age_days:
        where = paper.paper.listing_date
        stored = "It was added to papertide and" if is_new else "It"
        return SubmissionRule.TOO_OLD, (
            f"{arxiv_id} was published on {published:%d %b %Y}, more than {policy.max_age_days} days ago: only "
            f"recent papers go on today's list. {stored} stays on the list of {where:%d %b %Y}."
            if where
            else f"{arxiv_id} was published more than {policy.max_age_days} days ago: only recent papers are listed."
        )
    if is_new:
        return SubmissionRule.LISTED_NEW, f"{arxiv_id} was added to papertide and to today's list."
    if listed is not None and listed < today:
        age = f"published {(today - published).days} days ago" if published else "of unknown age"
        return SubmissionRule.RELISTED, (
            f"{arxiv_id} was listed on {listed:%d %b %Y}; it is {age}, within the {policy.max_age_days}-day "
            "limit, so it is listed again today."
        )
    return SubmissionRule.LISTED, f"{arxiv_id} is now on today's list."


def submit_paper(
    engine: Engine,
    client: PoliteClient,
    api_url: str,
    raw_id: str,
    member_id: int,
    *,
    policy: SubmissionPolicy,
    on_changed: ChangeHook | None = None,
    clock: Callable[[], dt.datetime] = utc_now,
) -> SubmissionOutcome:
    """Submit a paper for today's list on behalf of a member (see the module docstring for the rules).

    :param on_changed: the search index hook, called with the paper's id when it was new, so it
        is searchable (and embedded) at once.
    Raises InvalidInput (not an arXiv id), Suspended, ProfileRequired, RateLimited (daily
    limit), UnknownPaper, PaperWithdrawn, ArxivUnavailable.
    """
    arxiv_id = parse_submitted_id(raw_id)
    now = clock()
    today = local_date(now, ZoneInfo(policy.list_timezone))
    with engine.connect() as conn:
        _check_member(conn, member_id)
        stored = get_paper_by_arxiv_id(conn, arxiv_id)
    fetched: Paper | None = None
    if stored is None:
        with begin_write(engine) as conn:
            limit = policy.per_member_per_day * FETCHES_PER_SUBMISSION
            _take_slot(conn, f"submit-fetch:user:{member_id}", limit, now, "look-ups of papers new to papertide")
        fetched = fetch_arxiv_paper(client, api_url, arxiv_id)
    with begin_write(engine) as conn:
        member = _check_member(conn, member_id)
        is_new = False
        if fetched is not None:
            is_new = upsert_papers(conn, [fetched], now).new == 1
        paper = get_paper_by_arxiv_id(conn, arxiv_id)
        if paper is None:  # only if deleted between the two statements
            raise NotFound(f"{arxiv_id} vanished while it was being submitted")
        rule, message = _decide(paper, is_new=is_new, today=today, policy=policy)
        submission = None
        if rule in (SubmissionRule.LISTED_NEW, SubmissionRule.LISTED, SubmissionRule.RELISTED):
            _take_slot(conn, f"submit:user:{member.id}", policy.per_member_per_day, now, "submissions")
            submission = insert_submission(
                conn, paper_id=paper.id, user_id=member.id, day=today, previous=paper.paper.listed_on, now=now
            )
            if submission is None:  # another member's submission of the same paper won the race
                rule, message = SubmissionRule.ALREADY_TODAY, f"{arxiv_id} is already on today's list."
            else:
                write_listing_date(conn, paper.id, today)
                write_vote(conn, user_id=member.id, paper_id=paper.id, wanted=True, now=now)
        final = get_paper_by_arxiv_id(conn, arxiv_id) or paper
    if is_new:
        catch_up_authorship(engine)
        if on_changed is not None:
            on_changed([final.id])
    return SubmissionOutcome(rule=rule, paper=final, message=message, submission=submission)
