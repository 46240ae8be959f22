"""Feeds and pages stay well-formed whatever a stored paper holds (issue 9: one bad paper broke every feed)."""

from __future__ import annotations

import datetime as dt
from xml.etree import ElementTree

import pytest
from sqlalchemy import Engine

from papertide.config import Settings
from tests.search.search_corpus import Paper
from tests.web.search_app import search_client

# Stored straight into the database, as data from before the ingest checks would be.
HOSTILE = Paper(
    arxiv_id="2510.00099",
    title="Chaotic\x01 bells\x0b and \ufffe whistles\x1f",
    abstract="A chaotic abstract\x00 with \x08 controls.",
    authors=("Ada\x02 Lovelace",),
    categories=("cs.LG\x03",),
    primary_category="cs.LG\x03",
    published=dt.date(2026, 10, 30),
    listed_on=dt.date(2026, 10, 31),
    external_upvotes=500,
)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/feeds/trending.atom", {}),
        ("/feeds/trending.rss", {}),
        ("/feeds/trending.atom", {"period": "month", "date": "2026-10"}),
        ("/search.atom", {"q": "chaotic"}),
        ("/search.atom", {"q": "chaotic\x00"}),
        ("/search.atom", {"q": "\x00"}),
        ("/search.atom", {"q": "\x01bells"}),
    ],
)
def test_feeds_are_well_formed_xml_with_control_characters_in_the_database(
    settings: Settings, sqlite_engine: Engine, path: str, params: dict[str, str]
) -> None:
    with search_client(settings, sqlite_engine, HOSTILE, semantic=False) as client:
        response = client.get(path, params=params)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        root = ElementTree.fromstring(response.content)  # expat refuses any XML-illegal character
        assert root is not None
    if "trending" in path or params.get("q") == "chaotic":
        assert "Chaotic bells and  whistles" in response.text


@pytest.mark.parametrize("path", ["/", "/papers/2510.00099", "/search?q=chaotic", "/api/v1/papers/2510.00099"])
def test_pages_carry_no_xml_illegal_characters(settings: Settings, sqlite_engine: Engine, path: str) -> None:
    with search_client(settings, sqlite_engine, HOSTILE, semantic=False) as client:
        response = client.get(path)
    assert response.status_code == 200
    if path.startswith("/api"):
        return
    for character in "\x00\x01\x02\x03\x08\x0b\x1f\ufffe":
        assert character not in response.text
