"""The tantivy lexical index: BM25 with field boosts, filters, phrases, and consistency with the database."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete

from papertide.domain.query import parse_query
from papertide.search.lexical import analyzer
from papertide.search.lexical import index as lexical_index
from papertide.search.lexical.index import LexicalIndex
from papertide.search.lexical.plan import FieldWeights, compose_lexical_plan
from papertide.store.engine import begin_write, make_engine
from papertide.store.migrate import upgrade_database
from papertide.store.schema import papers
from tests.search.search_corpus import THEMED, Paper, paper_ids, revised, store


def ranked_ids(index: LexicalIndex, engine: Engine, text: str, weights: FieldWeights | None = None) -> list[str]:
    """arXiv ids of the ranked matches of a query, best first."""
    plan = compose_lexical_plan(index.schema, parse_query(text), weights or FieldWeights())
    by_id = {value: key for key, value in paper_ids(engine).items()}
    if plan.ranked is None:
        assert plan.required is not None
        return [by_id[pid] for pid, _ in index.newest(plan.required, 50)[0]]
    return [by_id[pid] for pid, _ in index.search(plan.ranked, 50)[0]]


@pytest.fixture
def index(themed_sqlite: Engine, index_dir: Path) -> LexicalIndex:
    """An index built from the themed corpus in SQLite (ranking does not depend on the database)."""
    built = LexicalIndex(themed_sqlite, index_dir)
    assert built.open() == "does not exist yet"
    return built


@pytest.fixture
def synced(themed_engine: Engine, index_dir: Path) -> LexicalIndex:
    """An index built from the themed corpus in each database."""
    built = LexicalIndex(themed_engine, index_dir)
    assert built.open() == "does not exist yet"
    return built


def test_a_title_match_outranks_an_abstract_match(index: LexicalIndex, themed_sqlite: Engine) -> None:
    # "chaotic dynamics" is in paper 1's title and only in paper 2's abstract.
    assert ranked_ids(index, themed_sqlite, "chaotic dynamics")[:2] == ["2501.00001", "2502.00002"]


def test_the_title_boost_is_what_puts_a_title_match_first(index: LexicalIndex, themed_sqlite: Engine) -> None:
    # Same words in both papers; "spectral" is in one title and in the other abstract.
    store(
        themed_sqlite,
        Paper(arxiv_id="2509.00001", title="Spectral clustering of graphs", abstract="Partitions of networks."),
        Paper(arxiv_id="2509.00002", title="Partitions of networks", abstract="Spectral clustering of graphs."),
    )
    index.sync()
    ids = paper_ids(themed_sqlite)

    def scores(weights: FieldWeights) -> dict[int, float]:
        plan = compose_lexical_plan(index.schema, parse_query("spectral"), weights)
        assert plan.ranked is not None
        return dict(index.search(plan.ranked, 10)[0])

    plain = scores(FieldWeights(title=0.0))
    boosted = scores(FieldWeights())
    assert plain[ids["2509.00001"]] == pytest.approx(plain[ids["2509.00002"]])
    assert boosted[ids["2509.00001"]] > boosted[ids["2509.00002"]]


def test_words_are_stemmed_and_accents_folded(index: LexicalIndex, themed_sqlite: Engine) -> None:
    assert ranked_ids(index, themed_sqlite, "dynamical")[0] == "2501.00001"
    assert ranked_ids(index, themed_sqlite, "schrodinger") == ["2505.00005"]


def test_any_word_may_match(index: LexicalIndex, themed_sqlite: Engine) -> None:
    assert set(ranked_ids(index, themed_sqlite, "protein manifolds")) == {"2504.00004", "2505.00005"}


def test_author_names_are_searchable_as_words_and_kept_whole(index: LexicalIndex, themed_sqlite: Engine) -> None:
    assert set(ranked_ids(index, themed_sqlite, "lovelace")) == {"2501.00001", "2505.00005"}
    # "An" is a stop word in text but a name: the author filter still finds An Wang.
    assert ranked_ids(index, themed_sqlite, 'author:"An Wang"') == ["2503.00003"]


def test_phrases_are_required_and_keep_word_order(index: LexicalIndex, themed_sqlite: Engine) -> None:
    # Paper 4 has "mind" and "theory" but not the phrase "theory of mind".
    assert ranked_ids(index, themed_sqlite, '"theory of mind"') == ["2503.00003"]
    assert ranked_ids(index, themed_sqlite, 'attention "theory of mind"') == ["2503.00003"]


def test_filters_narrow_without_changing_the_order(index: LexicalIndex, themed_sqlite: Engine) -> None:
    assert ranked_ids(index, themed_sqlite, "chaotic cat:cs.AI") == ["2502.00002"]
    assert set(ranked_ids(index, themed_sqlite, "cat:cs")) == {"2501.00001", "2502.00002", "2503.00003"}
    assert ranked_ids(index, themed_sqlite, "cat:Q-BIO") == ["2504.00004"]
    assert ranked_ids(index, themed_sqlite, 'author:"ada lovelace" since:2025-03') == ["2505.00005"]
    assert ranked_ids(index, themed_sqlite, "until:2024-12-31") == ["2504.00004"]
    assert ranked_ids(index, themed_sqlite, "learning author:Noether") == []


def test_filter_only_queries_list_newest_first(index: LexicalIndex, themed_sqlite: Engine) -> None:
    assert ranked_ids(index, themed_sqlite, "since:2025") == [
        "2505.00005",
        "2503.00003",
        "2502.00002",
        "2501.00001",
    ]


def test_the_plan_reads_as_a_lucene_style_string(index: LexicalIndex) -> None:
    plan = compose_lexical_plan(
        index.schema,
        parse_query('the dynamics "theory of mind" author:"Ada Lovelace" cat:cs.LG,stat.ML since:2025'),
        FieldWeights(text=1.0, title=0.3, authors=1.5),
    )
    assert plan.description == (
        "text:dynam title:dynam^0.3 authors:dynamics^1.5 "
        '+(text:"theori _ mind" title:"theori _ mind"^0.3 authors:"theory of mind"^1.5) '
        '+authors:"ada lovelace" +category:(cs.lg OR stat.ml) +published:[2025-01-01 TO *]'
    )
    assert plan.required_description == (
        '+(text:"theori _ mind" title:"theori _ mind"^0.3 authors:"theory of mind"^1.5) '
        '+authors:"ada lovelace" +category:(cs.lg OR stat.ml) +published:[2025-01-01 TO *]'
    )


def test_one_category_is_a_lazily_read_term_and_several_a_term_set(index: LexicalIndex) -> None:
    # A term set marks every paper of a broad category before the words are matched (issue 13).
    one = compose_lexical_plan(index.schema, parse_query("dynamics cat:cs.LG"), FieldWeights())
    several = compose_lexical_plan(index.schema, parse_query("dynamics cat:cs.LG,stat.ML"), FieldWeights())
    assert 'TermQuery(Term(field=4, type=Str, "cs.lg"))' in repr(one.required)
    assert "TermSetQuery" not in repr(one.required) and "TermSetQuery" in repr(several.required)
    assert index.count(one.required) == 1  # type: ignore[arg-type]  # the one themed paper in cs.LG


def test_stop_words_alone_give_nothing_to_rank(index: LexicalIndex) -> None:
    plan = compose_lexical_plan(index.schema, parse_query("the of and"), FieldWeights())
    assert plan.ranked is None and plan.required is None


# --- consistency with the database --------------------------------------------------------------


def test_sync_applies_only_changed_papers_and_records_their_seq(synced: LexicalIndex, themed_engine: Engine) -> None:
    before = synced.applied_seq
    assert synced.sync() == 0
    report = store(themed_engine, revised(THEMED[3], title="Protein folding with transformers"))
    store(themed_engine, Paper(arxiv_id="2506.00006", title="Turbulence closures", abstract="Eddies."))
    assert synced.sync() == 2
    assert synced.applied_seq == before + 2
    assert report.updated == 1
    # The revised paper is found by its new title only, and only once.
    assert ranked_ids(synced, themed_engine, "transformers") == ["2504.00004"]
    assert ranked_ids(synced, themed_engine, "attention")[0] == "2504.00004"
    assert ranked_ids(synced, themed_engine, "turbulence") == ["2506.00006"]
    assert synced.paper_count == 6


def test_a_second_process_sees_commits_of_the_first_before_its_next_query(
    synced: LexicalIndex, themed_engine: Engine, index_dir: Path
) -> None:
    other = LexicalIndex(themed_engine, index_dir)
    assert other.open() is None
    store(themed_engine, Paper(arxiv_id="2506.00006", title="Turbulence closures", abstract="Eddies."))
    synced.sync()
    other.refresh()
    assert ranked_ids(other, themed_engine, "turbulence") == ["2506.00006"]


def test_a_query_catches_up_with_rows_no_hook_indexed(synced: LexicalIndex, themed_engine: Engine) -> None:
    store(themed_engine, Paper(arxiv_id="2506.00006", title="Turbulence closures", abstract="Eddies."))
    synced.refresh()
    assert ranked_ids(synced, themed_engine, "turbulence") == ["2506.00006"]


def test_a_query_leaves_a_large_backlog_to_the_maintenance_loop(
    synced: LexicalIndex, themed_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lexical_index, "REQUEST_SYNC_PAPERS", 1)
    store(
        themed_engine,
        Paper(arxiv_id="2506.00006", title="Turbulence closures", abstract="Eddies."),
        Paper(arxiv_id="2506.00007", title="Turbulence in pipes", abstract="Flows."),
    )
    written = synced.written
    synced.refresh()  # a request: two changed papers are more than it applies itself
    assert synced.written == written and ranked_ids(synced, themed_engine, "turbulence") == []
    assert synced.catch_up()  # the maintenance loop's step
    assert sorted(ranked_ids(synced, themed_engine, "turbulence")) == ["2506.00006", "2506.00007"]
    assert not synced.catch_up()


def test_reopening_an_index_after_a_crash_before_its_commit_catches_up(
    synced: LexicalIndex, themed_engine: Engine, index_dir: Path
) -> None:
    # The database committed, the process died before the index did: nothing of it is in the index.
    store(themed_engine, Paper(arxiv_id="2506.00006", title="Turbulence closures", abstract="Eddies."))
    reopened = LexicalIndex(themed_engine, index_dir)
    assert reopened.open() is None
    assert ranked_ids(reopened, themed_engine, "turbulence") == ["2506.00006"]


def test_a_missing_index_is_rebuilt_from_the_database(synced: LexicalIndex, themed_engine: Engine) -> None:
    shutil.rmtree(synced.path)
    fresh = LexicalIndex(themed_engine, synced.path)
    assert fresh.open() == "does not exist yet"
    assert fresh.paper_count == len(THEMED)


def test_a_corrupt_index_is_rebuilt_from_the_database(synced: LexicalIndex, themed_engine: Engine) -> None:
    (synced.path / "meta.json").write_text("{ not json", encoding="utf-8")
    fresh = LexicalIndex(themed_engine, synced.path)
    problem = fresh.open()
    assert problem is not None and problem.startswith("cannot be read")
    assert ranked_ids(fresh, themed_engine, "protein") == ["2504.00004"]


def test_an_index_whose_segments_vanished_is_rebuilt(synced: LexicalIndex, themed_engine: Engine) -> None:
    for segment in synced.path.glob("*.idx"):
        segment.unlink()
    fresh = LexicalIndex(themed_engine, synced.path)
    assert fresh.open() is not None
    assert fresh.paper_count == len(THEMED)


def test_an_index_built_with_another_analyzer_is_rebuilt(
    synced: LexicalIndex, themed_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = json.dumps({"schema_version": analyzer.SCHEMA_VERSION, "analyzers": "something else"})
    monkeypatch.setattr(analyzer, "configuration_fingerprint", lambda: changed)
    monkeypatch.setattr("papertide.search.lexical.index.configuration_fingerprint", lambda: changed)
    fresh = LexicalIndex(themed_engine, synced.path)
    assert fresh.open() == "was built with another analyzer configuration"
    monkeypatch.undo()
    assert LexicalIndex(themed_engine, synced.path).open() == "was built with another analyzer configuration"


def test_an_index_of_another_database_is_rebuilt(synced: LexicalIndex, tmp_path: Path) -> None:
    other_engine = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade_database(other_engine)
    store(other_engine, THEMED[0])
    fresh = LexicalIndex(other_engine, synced.path)
    assert fresh.open() == "was built from another database"
    assert fresh.paper_count == 1
    other_engine.dispose()


def test_an_index_ahead_of_the_database_is_rebuilt(synced: LexicalIndex, themed_engine: Engine) -> None:
    # As after restoring an older backup: the database's highest seq is below the index's.
    newest = paper_ids(themed_engine)["2505.00005"]
    with begin_write(themed_engine) as conn:
        conn.execute(delete(papers).where(papers.c.id == newest))
    fresh = LexicalIndex(themed_engine, synced.path)
    problem = fresh.open()
    assert problem is not None and "ahead of the database" in problem
    assert fresh.paper_count == len(THEMED) - 1


def test_a_paper_deleted_from_the_database_triggers_a_rebuild(synced: LexicalIndex, themed_engine: Engine) -> None:
    oldest = paper_ids(themed_engine)["2501.00001"]
    with begin_write(themed_engine) as conn:
        conn.execute(delete(papers).where(papers.c.id == oldest))
    fresh = LexicalIndex(themed_engine, synced.path)
    assert fresh.open() == f"holds {len(THEMED)} papers where the database has {len(THEMED) - 1}"
    assert "2501.00001" not in ranked_ids(fresh, themed_engine, "chaotic")


def test_rebuild_keeps_the_same_results(synced: LexicalIndex, themed_engine: Engine) -> None:
    before = ranked_ids(synced, themed_engine, "learning dynamics mind")
    assert synced.rebuild() == len(THEMED)
    assert ranked_ids(synced, themed_engine, "learning dynamics mind") == before
    assert synced.paper_count == len(THEMED)


def test_an_empty_database_gives_an_empty_index_that_stays_current(engine: Engine, index_dir: Path) -> None:
    empty = LexicalIndex(engine, index_dir)
    empty.open()
    assert empty.paper_count == 0 and empty.applied_seq == 0
    assert empty.sync() == 0


def test_an_index_object_is_opened_once(themed_engine: Engine, index_dir: Path) -> None:
    first = LexicalIndex(themed_engine, index_dir)
    assert first.ensure_open() == "does not exist yet"
    assert first.ensure_open() is None
    assert first.paper_count == len(THEMED)


def test_two_processes_opening_a_missing_index_together_build_it_once(themed_engine: Engine, index_dir: Path) -> None:
    # Separate objects on one directory stand for separate processes (e.g. web workers starting).
    first, second = LexicalIndex(themed_engine, index_dir), LexicalIndex(themed_engine, index_dir)
    outcomes: dict[str, str | None] = {}
    threads = [
        threading.Thread(target=lambda name=name, index=index: outcomes.__setitem__(name, index.open()))
        for name, index in (("first", first), ("second", second))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values(), key=lambda outcome: outcome or "") == [None, "does not exist yet"]
    assert first.paper_count == second.paper_count == len(THEMED)


@pytest.mark.parametrize("pattern", ["meta.json", "*.idx", "*.term", "*.store", "*"])
def test_an_index_with_zero_byte_files_is_rebuilt_from_the_database(
    synced: LexicalIndex, themed_engine: Engine, pattern: str
) -> None:
    for path in synced.path.glob(pattern):
        if path.is_file():
            path.write_bytes(b"")
    fresh = LexicalIndex(themed_engine, synced.path)
    assert fresh.open() is not None
    assert fresh.paper_count == len(THEMED)
    assert ranked_ids(fresh, themed_engine, "protein") == ["2504.00004"]
