"""The `papertide` command end to end, in-process: each call is one invocation with its own environment."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_runner import link_model_cache, run_papertide
from tests.corpus import SMALL_CORPUS

FIRST = json.loads(SMALL_CORPUS.read_text(encoding="utf-8").splitlines()[0])


def test_ingest_jsonl_reports_counts_and_exit_codes(tmp_path: Path, model_cache: Path) -> None:
    data_dir = link_model_cache(tmp_path / "data", model_cache)
    first = run_papertide(data_dir, "ingest", "jsonl", str(SMALL_CORPUS))
    second = run_papertide(data_dir, "ingest", "jsonl", str(SMALL_CORPUS))
    assert first.exit_code == 0, first.stderr
    assert "new 48" in first.stderr
    assert second.exit_code == 3
    assert "unchanged 48" in second.stderr


def test_ingest_jsonl_names_a_missing_file(tmp_path: Path) -> None:
    result = run_papertide(tmp_path / "data", "ingest", "jsonl", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 1
    # The whole path, whitespace removed: rich folds a long line at 80 columns, anywhere in a word, and
    # how long the path is depends on the machine's temporary directory (and pytest-xdist's worker folder).
    assert str(tmp_path / "nope.jsonl") in "".join(result.stderr.split())


def test_ingest_jsonl_reports_bad_lines_with_their_numbers(tmp_path: Path, model_cache: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text(SMALL_CORPUS.read_text(encoding="utf-8").splitlines()[0] + "\n{broken\n", encoding="utf-8")
    result = run_papertide(link_model_cache(tmp_path / "data", model_cache), "ingest", "jsonl", str(path))
    assert result.exit_code == 0
    assert "mixed.jsonl:2" in "".join(result.stderr.split())  # rich may fold the path anywhere
    assert "skipped 1" in result.stderr


def test_search_json_prints_hits_with_id_title_and_score(loaded_dir: Path) -> None:
    word = FIRST["title"].split()[0].strip(":,")
    result = run_papertide(loaded_dir, "search", word, "--json", "--limit", "5")
    hits = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 0, result.stderr
    assert 1 <= len(hits) <= 5
    assert {"arxiv_id", "title", "score"} <= set(hits[0])
    assert FIRST["arxiv_id"] in [hit["arxiv_id"] for hit in hits]


def test_serve_get_fetches_a_page_in_process(loaded_dir: Path) -> None:
    ok = run_papertide(loaded_dir, "serve", "--get", f"/papers/{FIRST['arxiv_id']}")
    missing = run_papertide(loaded_dir, "serve", "--get", "/papers/2501.99999")
    assert ok.exit_code == 0 and FIRST["title"] in ok.stdout
    assert missing.exit_code == 1


def test_init_sample_loads_the_bundled_corpus_once_with_its_newest_listing_day_moved_to_today(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    first = run_papertide(data_dir, "init", "--sample", "--today", "2027-03-10")
    second = run_papertide(data_dir, "init", "--sample")
    assert first.exit_code == 0, first.stderr
    assert "new 4000" in first.stderr
    assert "newest listing day is 2027-03-10" in first.stderr
    assert "already stored" in second.stderr
    # The demo is alive on that day: trending now needs no fallback, the day has papers, a first digest fills.
    now = run_papertide(data_dir, "trending", "--now", "2027-03-10T12:00:00Z", "--json")
    trending = json.loads(now.stdout)
    assert trending["window"]["fallback"] is False and trending["papers"]
    day = json.loads(run_papertide(data_dir, "trending", "--period", "day", "--date", "2027-03-10", "--json").stdout)
    assert day["total"] > 0
    assert all(paper["listed_on"] <= "2027-03-10" for paper in day["papers"])
    added = run_papertide(data_dir, "subscribers", "add", "ada@example.org", "--confirmed")
    assert added.exit_code == 0, added.stderr
    preview = run_papertide(data_dir, "digest", "preview", "ada@example.org", "--now", "2027-03-10T08:00:00Z")
    assert preview.exit_code == 0, preview.stderr
    assert "no digest" not in preview.stderr and "upvote" in preview.stdout


def test_each_invocation_reads_its_own_settings(tmp_path: Path) -> None:
    for name in ("one", "two"):
        result = run_papertide(tmp_path / name, "db", "upgrade")
        assert result.exit_code == 0, result.stderr
        assert (tmp_path / name / "papertide.db").is_file()


def test_help_works_whatever_the_settings_say(tmp_path: Path) -> None:
    # Settings load when a command first needs them, not in the root callback.
    result = run_papertide(tmp_path, "search", "--help", PAPERTIDE_LIST_TIMEZONE="Mars/Base")
    assert result.exit_code == 0 and "Search the stored papers" in result.stdout
