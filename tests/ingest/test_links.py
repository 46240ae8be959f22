"""Stored links are http(s) only (issue 9): other schemes are dropped at ingest with a warning naming where."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import Engine

from papertide.domain.links import http_link
from papertide.domain.models import Paper
from papertide.ingest.hf_daily import parse_daily_papers
from papertide.store.papers import get_paper_by_arxiv_id
from tests.ingest.ingest_server import fixture_bytes
from tests.ingest.test_jsonl_import import ingest, record, write_lines

HOSTILE = [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    "  javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/x",
    "/relative/path",
    "https:no-host",
    "http://exa mple.org/",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_only_absolute_http_and_https_urls_may_become_links(value: str) -> None:
    assert http_link(value) is None


@pytest.mark.parametrize("value", ["https://github.com/example/repo", "http://example.org/a?b=c#d"])
def test_http_and_https_urls_are_kept(value: str) -> None:
    assert http_link(value) == value


@pytest.mark.parametrize("field", ["abs_url", "pdf_url", "code_url"])
def test_a_jsonl_link_of_another_scheme_is_dropped_with_a_warning_naming_line_and_field(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture, field: str
) -> None:
    lines = [record(arxiv_id="2501.00009"), record(arxiv_id="2501.00001", **{field: "javascript:alert(1)"})]
    with caplog.at_level(logging.WARNING, logger="papertide.ingest"):
        report = ingest(engine, write_lines(tmp_path / "papers.jsonl", lines))
    assert report.new == 2 and report.skipped == 0  # the paper is kept, only the link is dropped
    with engine.connect() as conn:
        stored = get_paper_by_arxiv_id(conn, "2501.00001")
    assert stored is not None
    links = (stored.paper.abs_url, stored.paper.pdf_url, stored.paper.code_url)
    assert not any(link and "javascript" in link for link in links)
    assert stored.paper.abs_url == "https://arxiv.org/abs/2501.00001"  # the canonical link replaces it
    [warning] = [entry.getMessage() for entry in caplog.records if "dropped" in entry.getMessage()]
    assert warning.startswith("papers.jsonl:2") and f"'{field}'" in warning and "'javascript:'" in warning


def test_an_hf_daily_github_repo_of_another_scheme_is_dropped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    items = json.loads(fixture_bytes("hf_daily_papers.json"))
    items[0]["paper"]["githubRepo"] = "javascript:alert(document.cookie)"
    with caplog.at_level(logging.WARNING, logger="papertide.ingest"):
        parsed = parse_daily_papers(json.dumps(items).encode(), "hf-daily fixture", None)
    papers = [item for item in parsed if isinstance(item, Paper)]
    assert len(papers) == 3 and papers[0].code_url is None
    [warning] = [entry.getMessage() for entry in caplog.records if "dropped" in entry.getMessage()]
    assert "hf-daily fixture item 1" in warning and "githubRepo" in warning
