"""One hostile record is reported as FILE:LINE with its field and skipped; the rest of its batch lands (issue 9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from papertide.domain.limits import MAX_ABSTRACT_CHARS, MAX_AUTHORS, MAX_LINE_BYTES, MAX_TITLE_CHARS
from papertide.ingest.hf_daily import parse_daily_papers
from papertide.ingest.jsonl import read_jsonl_papers
from papertide.ingest.pipeline import run_ingest
from papertide.ingest.report import IngestReport
from papertide.store.papers import count_papers, get_paper_by_arxiv_id
from tests.cli_runner import run_papertide

GOOD = {"title": "A title", "abstract": "An abstract.", "authors": ["Ada Lovelace"], "published": "2025-01-02"}


def good(number: int) -> bytes:
    return json.dumps({**GOOD, "arxiv_id": f"2501.{number:05d}"}).encode()


def raw_record(number: int, **fields: str) -> bytes:
    """A record with some fields given as raw JSON text (values json.dumps cannot write)."""
    base = json.dumps({**GOOD, "arxiv_id": f"2501.{number:05d}"})[:-1]
    return (base + "".join(f', "{name}": {value}' for name, value in fields.items()) + "}").encode()


def ingest_lines(engine: Engine, path: Path, lines: list[bytes]) -> IngestReport:
    path.write_bytes(b"\n".join(lines) + b"\n")
    with path.open("rb") as handle:
        return run_ingest(engine, "jsonl", read_jsonl_papers(handle, path.name), batch_size=100)


HOSTILE = {
    "lone surrogate": (raw_record(2, title='"bad \\ud800 title"'), "field 'title' holds a lone surrogate"),
    "deep nesting": (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
    "huge upvotes": (raw_record(2, upvotes=str(10**30)), "field 'upvotes' must be between 0 and"),
    "huge version": (raw_record(2, version=str(10**30)), "field 'version' must be from 1"),
    "version zero": (raw_record(2, version="0"), "field 'version' must be at least 1"),
    "version zero in the id": (json.dumps({**GOOD, "arxiv_id": "2501.00002v0"}).encode(), "field 'version'"),
    "long title": (raw_record(2, title=json.dumps("t" * (MAX_TITLE_CHARS + 1))), "field 'title' is 1,001 characters"),
    "long abstract": (raw_record(2, abstract=json.dumps("a" * (MAX_ABSTRACT_CHARS + 1))), "field 'abstract' is"),
    "many authors": (raw_record(2, authors=json.dumps(["A B"] * (MAX_AUTHORS + 1))), "field 'authors' lists"),
    "long comments": (raw_record(2, comments=json.dumps("c" * 5000)), "field 'comments' is 5,000 characters"),
    "long doi": (raw_record(2, doi=json.dumps("10." + "1" * 300)), "field 'doi' is"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_line_is_reported_with_file_line_and_field_and_the_batch_lands(
    engine: Engine, tmp_path: Path, name: str
) -> None:
    line, reason = HOSTILE[name]
    report = ingest_lines(engine, tmp_path / "p.jsonl", [good(1), line, good(3)])
    assert report.failure is None
    assert report.new == 2 and report.skipped == 1
    assert len(report.problems) == 1
    assert report.problems[0].location == "p.jsonl:2"
    assert reason in report.problems[0].reason
    with engine.connect() as conn:
        assert count_papers(conn) == 2


def test_an_over_long_link_is_dropped_with_a_warning_and_its_paper_is_kept(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Links follow the link rule (domain/links.py): a bad one costs the link, not the paper.
    line = raw_record(2, code_url=json.dumps("https://x.org/" + "u" * 3000))
    with caplog.at_level("WARNING"):
        report = ingest_lines(engine, tmp_path / "p.jsonl", [good(1), line, good(3)])
    assert report.new == 3 and report.skipped == 0
    assert "p.jsonl:2: field 'code_url' dropped: it is longer than 2000 characters" in caplog.text
    with engine.connect() as conn:
        stored = get_paper_by_arxiv_id(conn, "2501.00002")
    assert stored is not None and stored.paper.code_url is None


def test_a_line_over_the_limit_is_skipped_without_being_read_whole(engine: Engine, tmp_path: Path) -> None:
    huge = raw_record(2, abstract=json.dumps("x" * (MAX_LINE_BYTES + 10)))
    report = ingest_lines(engine, tmp_path / "p.jsonl", [good(1), huge, good(3)])
    assert report.new == 2 and report.skipped == 1
    assert report.problems[0].location == "p.jsonl:2"
    assert f"at most {MAX_LINE_BYTES:,} are accepted" in report.problems[0].reason


def test_control_characters_are_stripped_from_stored_text(engine: Engine, tmp_path: Path) -> None:
    report = ingest_lines(engine, tmp_path / "p.jsonl", [raw_record(1, title='"Bell\\u0001 states\\u000b"')])
    assert report.new == 1
    with engine.connect() as conn:
        from papertide.store.papers import get_paper_by_arxiv_id

        stored = get_paper_by_arxiv_id(conn, "2501.00001")
    assert stored is not None and stored.paper.title == "Bell states"


def hf_item(arxiv_id: str, **paper: object) -> dict[str, object]:
    return {
        "paper": {"id": arxiv_id, "title": "T", "summary": "S", "upvotes": 3, **paper},
        "publishedAt": "2024-10-25T00:00:00.000Z",
    }


def test_a_hostile_hf_daily_item_is_reported_and_the_listing_lands(engine: Engine) -> None:
    body = json.dumps([hf_item("2410.00001"), hf_item("2410.00002", upvotes=10**30), hf_item("2410.00003")])
    body = body.replace(
        '"title": "T", "summary": "S", "upvotes": 3}, "publishedAt": "2024-10-25T00:00:00.000Z"}]',
        (
            '"title": "T\\ud800", "summary": "S", "upvotes": 3}, "publishedAt": "2024-10-25T00:00:00.000Z"}, '
            + json.dumps(hf_item("2410.00004"))
            + "]"
        ),
    )
    items = parse_daily_papers(body.encode(), "hf-daily page", None)
    report = run_ingest(engine, "hf-daily", items)
    assert report.failure is None and report.new == 2 and report.skipped == 2
    reasons = " | ".join(str(problem) for problem in report.problems)
    assert "field 'paper.upvotes' must be between 0 and" in reasons
    assert "field 'title' holds a lone surrogate" in reasons


def test_a_deeply_nested_hf_daily_listing_fails_with_a_message_not_a_traceback() -> None:
    with pytest.raises(Exception, match="nested too deeply"):
        parse_daily_papers(b"[" * 200_000, "hf-daily page", None)


def test_ingest_jsonl_of_a_directory_reads_every_jsonl_file_in_name_order(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "b.jsonl").write_bytes(good(2) + b"\n")
    (folder / "a.jsonl").write_bytes(good(1) + b"\n")
    (folder / "notes.txt").write_bytes(b"not a paper\n")
    result = run_papertide(tmp_path / "data", "ingest", "jsonl", str(folder), PAPERTIDE_SEARCH_EMBED_BATCH_LIMIT="0")
    assert result.exit_code == 0, result.stderr
    assert "new 2" in result.stderr


def test_ingest_jsonl_of_an_empty_directory_says_it_is_a_directory(tmp_path: Path) -> None:
    result = run_papertide(tmp_path / "data", "ingest", "jsonl", str(tmp_path))
    assert result.exit_code == 1
    assert "a directory with no *.jsonl files" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
