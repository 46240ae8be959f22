"""Category pages and feeds read ``paper_categories``, on SQLite and PostgreSQL (issue 13)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from xml.etree import ElementTree

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import Engine, delete

from papertide.config import Settings
from papertide.domain.models import Paper
from papertide.store.categories import COUNT_BOUND
from papertide.store.engine import begin_write
from papertide.store.papers import get_paper_by_arxiv_id, upsert_papers
from papertide.store.schema import papers
from tests.community_flow import ClientFactory

ATOM = {"a": "http://www.w3.org/2005/Atom"}
NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def settings(data_dir: Path, database_url: str) -> Settings:
    """The app on the database of the test's dialect."""
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key="test-secret-key-not-for-production",  # type: ignore[arg-type]
        base_url="http://testserver",
    )


@pytest.fixture
def app_engine(engine: Engine) -> Engine:
    """31 papers in cs.LG (one also in stat.ML), newest on 31 Oct; nothing else."""
    batch = [
        Paper(
            arxiv_id=f"2610.000{day:02d}",
            title=f"Learning study {day}",
            abstract="Gradients.",
            categories=("cs.LG", "stat.ML") if day == 31 else ("cs.LG",),
            primary_category="cs.LG",
            published=dt.date(2026, 10, day),
        )
        for day in range(1, 32)
    ]
    with begin_write(engine) as conn:
        upsert_papers(conn, batch, NOW)
    return engine


def _titles(html: str) -> list[str]:
    return [a.get_text() for a in BeautifulSoup(html, "html.parser").select(".paper-list h2.paper-title a")]


def _meta(html: str) -> str:
    meta = BeautifulSoup(html, "html.parser").select_one("p.paper-meta")
    assert meta is not None
    return meta.get_text(" ", strip=True)


def test_a_category_page_counts_its_papers_and_pages_newest_first(make_client: ClientFactory) -> None:
    client = make_client()
    first = client.get("/categories/cs.LG")
    assert first.status_code == 200
    assert _meta(first.text).startswith("31 papers, newest first")
    assert _titles(first.text)[:2] == ["Learning study 31", "Learning study 30"]
    assert len(_titles(first.text)) == 30
    assert BeautifulSoup(first.text, "html.parser").select_one("a[rel=next]") is not None
    second = client.get("/categories/cs.LG?page=2")
    assert _titles(second.text) == ["Learning study 1"]
    assert "page 2" in _meta(second.text)
    assert BeautifulSoup(second.text, "html.parser").select_one("a[rel=next]") is None
    feed = ElementTree.fromstring(client.get("/categories/cs.LG/feed.atom").content)
    assert len(feed.findall("a:entry", ATOM)) == 31
    assert _meta(client.get("/categories/stat.ML").text).startswith("1 paper, newest first")


def test_a_category_beyond_the_count_bound_says_more_than_and_still_pages_on(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import papertide.store.categories as categories

    monkeypatch.setattr(categories.count_category_papers, "__kwdefaults__", {"bound": 20})
    client = make_client()
    page = client.get("/categories/cs.LG")
    assert _meta(page.text).startswith("More than 20 papers, newest first")
    assert _titles(client.get("/categories/cs.LG?page=2").text) == ["Learning study 1"]
    assert COUNT_BOUND == 1000


def test_a_reingested_paper_moves_to_its_new_category_and_a_deleted_one_disappears(
    make_client: ClientFactory, app_engine: Engine
) -> None:
    with begin_write(app_engine) as conn:
        upsert_papers(
            conn,
            [
                Paper(
                    arxiv_id="2610.00031", version=2, title="Learning study 31", abstract="G.", categories=("math.OC",)
                )
            ],
            NOW,
        )
        stored = get_paper_by_arxiv_id(conn, "2610.00030")
        assert stored is not None
        conn.execute(delete(papers).where(papers.c.id == stored.id))
    client = make_client()
    assert _titles(client.get("/categories/math.OC").text) == ["Learning study 31"]
    page = client.get("/categories/cs.LG")
    assert _meta(page.text).startswith("29 papers")
    assert _titles(page.text)[0] == "Learning study 29"
    gone = client.get("/categories/stat.ML")
    assert gone.status_code == 404
    assert "No paper in the category stat.ML is stored here." in gone.text


@pytest.mark.parametrize(
    "raw",
    [
        "%25%22x",
        "cs.LG%27%20OR%201=1--",
        "cs..LG",
        "a" * 500,
        "cs.%E2%80%AELG",
        "%5C",
        "cs.LG%25",
        "_",
    ],
)
def test_a_hostile_category_name_is_a_404_that_says_what_is_wrong(make_client: ClientFactory, raw: str) -> None:
    client = make_client()
    for path in (f"/categories/{raw}", f"/categories/{raw}/feed.atom"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "is not an arXiv category such as cs.CL or hep-th" in response.text, path


def test_a_control_character_in_a_category_name_is_the_input_guards_400_not_a_5xx(make_client: ClientFactory) -> None:
    response = make_client().get("/categories/cs.LG%00")
    assert response.status_code == 400
    assert "the address" in response.text
