"""`papertide ingest jsonl`: malformed lines are reported and skipped, the rest lands."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, select

from papertide.ingest.jsonl import read_jsonl_papers
from papertide.ingest.pipeline import run_ingest
from papertide.ingest.report import EXIT_NEW_PAPERS, EXIT_NOTHING_NEW
from papertide.store.papers import count_papers, get_paper_by_arxiv_id
from papertide.store.schema import ingest_runs

GOOD = {
    "arxiv_id": "2501.00001",
    "title": "A  title with\n  a line wrap",
    "abstract": "Code at https://github.com/example/repo.",
    "authors": ["Ada Lovelace", "Alan Turing"],
    "categories": ["cs.LG", "stat.ML"],
    "published": "2025-01-02",
    "upvotes": 7,
}


def write_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def ingest(engine: Engine, path: Path):
    with path.open("rb") as handle:
        return run_ingest(engine, "jsonl", read_jsonl_papers(handle, path.name), batch_size=2)


def record(**changes: object) -> bytes:
    return json.dumps({**GOOD, **changes}).encode()


def test_valid_lines_are_stored_with_normalised_fields(engine: Engine, tmp_path: Path) -> None:
    report = ingest(engine, write_lines(tmp_path / "p.jsonl", [record()]))
    with engine.connect() as conn:
        stored = get_paper_by_arxiv_id(conn, "2501.00001")
    assert report.new == 1 and report.exit_code == EXIT_NEW_PAPERS
    assert stored is not None
    assert stored.paper.title == "A title with a line wrap"
    assert stored.paper.authors == ("Ada Lovelace", "Alan Turing")
    assert stored.paper.primary_category == "cs.LG"
    assert stored.paper.code_url == "https://github.com/example/repo"
    assert stored.paper.pdf_url == "https://arxiv.org/pdf/2501.00001"
    assert stored.upvotes == 7


def test_malformed_lines_are_reported_with_line_numbers_and_skipped(engine: Engine, tmp_path: Path) -> None:
    lines = [
        record(arxiv_id="2501.00001"),
        b"{not json",
        record(arxiv_id="2501.00002", title=None),
        record(arxiv_id="2501.00003", published="02/01/2025"),
        b"[1, 2]",
        record(arxiv_id="not-an-id"),
        record(arxiv_id="2501.00004", authors=[1, 2]),
        record(arxiv_id="2501.00005"),
    ]
    report = ingest(engine, write_lines(tmp_path / "bad.jsonl", lines))
    reasons = {problem.location: problem.reason for problem in report.problems}
    assert report.new == 2 and report.skipped == 6
    assert "invalid JSON" in reasons["bad.jsonl:2"]
    assert "'title'" in reasons["bad.jsonl:3"]
    assert "'published'" in reasons["bad.jsonl:4"]
    assert "JSON object" in reasons["bad.jsonl:5"]
    assert "'arxiv_id'" in reasons["bad.jsonl:6"]
    assert "'authors'" in reasons["bad.jsonl:7"]
    with engine.connect() as conn:
        assert count_papers(conn) == 2


def test_wrong_encoding_is_reported_and_other_lines_land(engine: Engine, tmp_path: Path) -> None:
    latin1 = json.dumps({**GOOD, "arxiv_id": "2501.00002", "title": "Étude"}, ensure_ascii=False).encode("latin-1")
    report = ingest(engine, write_lines(tmp_path / "enc.jsonl", [record(), latin1]))
    assert report.new == 1 and report.skipped == 1
    assert report.problems[0].location == "enc.jsonl:2"
    assert "UTF-8" in report.problems[0].reason


def test_empty_file_stores_nothing_and_says_nothing_new(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    report = ingest(engine, path)
    assert (report.fetched, report.new, report.skipped) == (0, 0, 0)
    assert report.exit_code == EXIT_NOTHING_NEW
    with engine.connect() as conn:
        status = conn.execute(select(ingest_runs.c.status)).scalar_one()
    assert status == "ok"


def test_importing_the_same_file_twice_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "p.jsonl", [record(), record(arxiv_id="2501.00009")])
    ingest(engine, path)
    again = ingest(engine, path)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)
    assert again.exit_code == EXIT_NOTHING_NEW


def test_a_newer_version_in_a_later_file_updates_the_paper(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, write_lines(tmp_path / "v1.jsonl", [record()]))
    report = ingest(engine, write_lines(tmp_path / "v2.jsonl", [record(arxiv_id="2501.00001v2", title="Revised")]))
    with engine.connect() as conn:
        stored = get_paper_by_arxiv_id(conn, "2501.00001")
    assert report.updated == 1
    assert stored is not None and stored.paper.version == 2 and stored.paper.title == "Revised"
