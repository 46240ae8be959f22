"""Members and papers for the community tests, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from papertide.domain.accounts import Role, User
from papertide.domain.models import Paper
from papertide.store.accounts import get_user, write_login
from papertide.store.authorship import catch_up_authorship
from papertide.store.engine import begin_write
from papertide.store.members import write_profile, write_role
from papertide.store.papers import get_paper_by_arxiv_id, upsert_papers
from tests.community.community_data import NOW, Clock, MakeMember


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_member(engine: Engine) -> MakeMember:
    """Create a member: ``make_member("ada", role=Role.MODERATOR, joined=ESTABLISHED, handle=None)``."""

    def make(name: str, *, role: Role = Role.MEMBER, joined: dt.datetime = NOW, handle: str | None = "") -> User:
        with begin_write(engine) as conn:
            user = write_login(conn, f"{name}@example.org", joined)
            chosen = name if handle == "" else handle
            if chosen:
                write_profile(conn, user.id, handle=chosen, display_name=name.title())
            if role is not Role.MEMBER:
                write_role(conn, user.id, role)
            found = get_user(conn, user.id)
        assert found is not None
        return found

    return make


@pytest.fixture
def papers(engine: Engine) -> dict[str, int]:
    """Three stored papers by arXiv id -> internal id, with author rows caught up."""
    batch = [
        Paper(
            arxiv_id="2611.00001",
            title="Notes on the analytical engine",
            abstract="Programs for a machine that does not exist yet.",
            authors=("Ada Lovelace", "Charles Babbage"),
            published=dt.date(2026, 11, 20),
        ),
        Paper(
            arxiv_id="2611.00002",
            title="Bernoulli numbers by machine",
            abstract="A table computed step by step.",
            authors=("A. Lovelace", "Luigi Menabrea"),
            published=dt.date(2026, 11, 25),
        ),
        Paper(
            arxiv_id="2611.00003",
            title="Another Lovelace",
            abstract="A different person with the same initial.",
            authors=("Alan Lovelace",),
            published=dt.date(2026, 11, 26),
        ),
    ]
    with begin_write(engine) as conn:
        upsert_papers(conn, batch, NOW)
        ids = {}
        for paper in batch:
            stored = get_paper_by_arxiv_id(conn, paper.arxiv_id)
            assert stored is not None
            ids[paper.arxiv_id] = stored.id
    catch_up_authorship(engine)
    return ids
