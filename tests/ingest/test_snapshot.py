"""`ingest snapshot`: the recorded snapshot lines, plain or gzipped, filtered, broken files reported."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

from sqlalchemy import Engine

from papertide.domain.models import Paper
from papertide.ingest.pipeline import run_source
from papertide.ingest.report import EXIT_FAILURE, EXIT_NOTHING_NEW
from papertide.ingest.snapshot import (
    SnapshotFile,
    SnapshotSource,
    parse_category_filter,
    parse_snapshot_record,
    select_categories,
)
from papertide.store.papers import count_papers, get_paper_by_arxiv_id
from tests.ingest.ingest_server import fixture_path


def recorded_lines() -> list[bytes]:
    return fixture_path("arxiv_metadata_snapshot.jsonl").read_bytes().splitlines()


def ingest(engine: Engine, path: Path, **options: object):
    with SnapshotFile(path) as snapshot:
        source = SnapshotSource(snapshot.lines, path.name, **options)  # type: ignore[arg-type]
        return run_source(engine, source, batch_size=7), source


def test_the_recorded_lines_are_stored_with_every_field(engine: Engine) -> None:
    report, _ = ingest(engine, fixture_path("arxiv_metadata_snapshot.jsonl"))
    with engine.connect() as conn:
        stored = get_paper_by_arxiv_id(conn, "0704.0001")
    assert (report.fetched, report.new, report.skipped) == (50, 50, 0)
    assert stored is not None
    paper = stored.paper
    assert paper.version == 2
    assert paper.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    assert paper.authors == ("C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan")
    assert (paper.published, paper.updated) == (dt.date(2007, 4, 2), dt.date(2007, 7, 24))
    assert paper.categories == ("hep-ph",) and paper.primary_category == "hep-ph"
    assert paper.doi == "10.1103/PhysRevD.76.013009" and paper.journal_ref == "Phys.Rev.D76:013009,2007"
    assert paper.comments == "37 pages, 15 figures; published version"


def test_a_gzipped_snapshot_gives_the_same_papers_and_twice_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    packed = tmp_path / "snapshot.json.gz"
    packed.write_bytes(gzip.compress(fixture_path("arxiv_metadata_snapshot.jsonl").read_bytes()))
    first, _ = ingest(engine, packed)
    plain, _ = ingest(engine, fixture_path("arxiv_metadata_snapshot.jsonl"))
    assert first.new == 50
    assert (plain.new, plain.updated, plain.unchanged, plain.exit_code) == (0, 0, 50, EXIT_NOTHING_NEW)


def test_a_truncated_gzip_keeps_the_lines_before_and_names_the_position(engine: Engine, tmp_path: Path) -> None:
    packed = gzip.compress(fixture_path("arxiv_metadata_snapshot.jsonl").read_bytes())
    broken = tmp_path / "snapshot.json.gz"
    broken.write_bytes(packed[: len(packed) * 2 // 3])
    report, _ = ingest(engine, broken)
    assert report.exit_code == EXIT_FAILURE
    assert report.failure is not None
    assert report.failure.startswith("snapshot.json.gz:") and "ends early" in report.failure
    with engine.connect() as conn:
        stored = count_papers(conn)
    assert 0 < stored < 50 and stored == report.new


def test_a_line_without_a_title_is_skipped_with_its_line_number(engine: Engine, tmp_path: Path) -> None:
    lines = recorded_lines()[:5]
    record = json.loads(lines[2])
    del record["title"]
    lines[2] = json.dumps(record).encode()
    lines[3] = lines[3][:40]
    path = tmp_path / "snap.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    report, _ = ingest(engine, path)
    reasons = {problem.location: problem.reason for problem in report.problems}
    assert (report.new, report.skipped) == (3, 2)
    assert reasons["snap.jsonl:3"] == "field 'title' is missing or empty (0704.0003)"
    assert reasons["snap.jsonl:4"].startswith("invalid JSON")


def test_categories_and_date_filter_before_storing(engine: Engine) -> None:
    report, source = ingest(
        engine,
        fixture_path("arxiv_metadata_snapshot.jsonl"),
        categories=parse_category_filter("math.*, cs.CG"),
        since=dt.date(2008, 1, 1),
    )
    expected = []
    for line in recorded_lines():
        record = json.loads(line)
        categories = record["categories"].split()
        wanted = any(c.startswith("math.") or c == "cs.CG" for c in categories)
        if wanted and record["update_date"] >= "2008-01-01":
            expected.append(record["id"])
    assert 0 < len(expected) < 50
    assert report.new == len(expected) and source.filtered == 50 - len(expected)
    with engine.connect() as conn:
        assert get_paper_by_arxiv_id(conn, expected[0]) is not None


def test_archive_patterns_match_subject_classes_and_cross_lists() -> None:
    patterns = parse_category_filter("cs.*,stat.ML, hep-th")
    assert patterns == ("cs.*", "stat.ML", "hep-th")
    assert select_categories(["math.CO", "cs.CG"], patterns)
    assert select_categories(["stat.ML"], patterns)
    assert select_categories(["hep-th"], patterns)
    assert not select_categories(["stat.ME", "csx.AB", "hep-ph"], patterns)
    assert select_categories(["cs.LG"], parse_category_filter("cs"))


def test_old_style_ids_and_a_newer_version_update_the_stored_paper(engine: Engine, tmp_path: Path) -> None:
    record = json.loads(recorded_lines()[0])
    old = {**record, "id": "math/0601001", "versions": record["versions"][:1]}
    newer = {**old, "title": "A revised title", "versions": record["versions"]}
    path = tmp_path / "v.jsonl"
    path.write_text(json.dumps(old) + "\n", encoding="utf-8")
    ingest(engine, path)
    path.write_text(json.dumps(newer) + "\n", encoding="utf-8")
    report, _ = ingest(engine, path)
    with engine.connect() as conn:
        stored = get_paper_by_arxiv_id(conn, "math/0601001")
    assert report.updated == 1
    assert stored is not None and stored.paper.version == 2 and stored.paper.title == "A revised title"


def test_a_record_parses_without_optional_fields() -> None:
    paper = parse_snapshot_record(
        {"id": "2501.01234", "title": "T", "abstract": "A", "authors": "A. One and B. Two"}, "x:1"
    )
    assert isinstance(paper, Paper)
    assert paper.authors == ("A. One", "B. Two") and paper.version == 1 and paper.published is None
