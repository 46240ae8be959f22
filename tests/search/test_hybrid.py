"""SearchService: hybrid fusion, modes, filters with the semantic side, sorting, pages, explain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine

from papertide.domain.errors import InvalidQuery, PapertideError
from papertide.domain.models import Hit
from papertide.domain.trending import TrendingCandidate
from papertide.search.lexical.index import LexicalIndex
from papertide.search.query import SearchService
from papertide.search.request import SearchOptions, SearchRequest, SearchUnavailable
from tests.search.search_corpus import FakeSemantic, Paper, paper_ids, store, texts_of


def build(
    engine: Engine,
    index_dir: Path,
    semantic: FakeSemantic | None = None,
    **options: object,
) -> SearchService:
    index = LexicalIndex(engine, index_dir)
    index.open()
    loader = (lambda: semantic) if semantic is not None else None
    return SearchService(engine, index, loader, SearchOptions(**options))  # type: ignore[arg-type]


def arxiv_ids(engine: Engine, hits: Sequence[Hit]) -> list[str]:
    by_id = {value: key for key, value in paper_ids(engine).items()}
    return [by_id[hit.paper_id] for hit in hits]


def run(service: SearchService, text: str, **request: object) -> list[str]:
    page = service.search(SearchRequest(text=text, **request))  # type: ignore[arg-type]
    return arxiv_ids(service.engine, page.hits)


@pytest.fixture
def fake(themed_sqlite: Engine) -> FakeSemantic:
    return FakeSemantic(texts_of(themed_sqlite))


@pytest.fixture
def service(themed_sqlite: Engine, index_dir: Path, fake: FakeSemantic) -> SearchService:
    return build(themed_sqlite, index_dir, fake)


def test_hybrid_finds_papers_by_meaning_that_share_no_word_with_the_query(service: SearchService) -> None:
    # No paper contains "turbulence"; the fake model relates it to chaotic dynamics.
    assert run(service, "turbulence", mode="lexical") == []
    assert set(run(service, "turbulence", mode="semantic")) == {"2501.00001", "2502.00002"}
    assert set(run(service, "turbulence")) == {"2501.00001", "2502.00002"}


def test_a_paper_both_engines_agree_on_comes_first(service: SearchService) -> None:
    # "lorenz attractor": paper 1 by words and meaning; paper 2 by meaning only.
    assert run(service, "lorenz attractor")[:2] == ["2501.00001", "2502.00002"]


def test_papers_without_a_vector_yet_are_still_found_by_words(themed_sqlite: Engine, index_dir: Path) -> None:
    newest = paper_ids(themed_sqlite)["2505.00005"]
    fake = FakeSemantic(texts_of(themed_sqlite), missing={newest})
    service = build(themed_sqlite, index_dir, fake)
    assert run(service, "riemannian", mode="semantic") == []
    assert run(service, "riemannian") == ["2505.00005"]


def test_each_hit_says_where_its_rank_came_from(service: SearchService) -> None:
    page = service.search(SearchRequest(text="lorenz attractor"))
    first = page.hits[0].detail
    assert first["lexical_rank"] == 1 and first["semantic_rank"] == 1
    assert "lexical_rank" not in page.hits[1].detail and page.hits[1].detail["semantic_rank"] == 2


def test_small_filtered_sets_are_handed_to_the_vector_index_as_candidates(
    service: SearchService, fake: FakeSemantic, themed_sqlite: Engine
) -> None:
    assert run(service, "chaos cat:cs.AI", mode="semantic") == ["2502.00002"]
    ids = paper_ids(themed_sqlite)
    assert fake.calls[-1][2] == sorted([ids["2502.00002"], ids["2503.00003"]])


def test_large_filtered_sets_are_handed_over_too_but_read_only_as_deep_as_fusion_needs(
    themed_sqlite: Engine, index_dir: Path, fake: FakeSemantic
) -> None:
    service = build(themed_sqlite, index_dir, fake, candidate_limit=1)
    page = service.search(SearchRequest(text="chaos cat:cs.AI", mode="semantic", per_page=5))
    assert arxiv_ids(themed_sqlite, page.hits) == ["2502.00002"]
    ids = paper_ids(themed_sqlite)
    # No over-fetching (issue 13): the 2 allowed papers go to the vector index, which is asked for
    # the page and one more (whether a next page exists), not for max_results.
    assert fake.calls[-1][1:] == (6, sorted([ids["2502.00002"], ids["2503.00003"]]))


def test_a_filter_is_looked_up_in_the_lexical_index_once_until_the_index_changes(
    themed_sqlite: Engine, index_dir: Path, fake: FakeSemantic
) -> None:
    service = build(themed_sqlite, index_dir, fake)
    for text in ("chaos cat:cs.AI", "mind cat:cs.AI", "chaos cat:cs.AI"):
        service.search(SearchRequest(text=text, mode="semantic"))
    assert (service.allowed_cache.misses, service.allowed_cache.hits) == (1, 2)
    store(
        themed_sqlite,
        Paper(
            arxiv_id="2506.00006",
            title="Chaos in agents",
            abstract="Chaotic dynamics of learning agents.",
            authors=("Ada Lovelace",),
            categories=("cs.AI",),
            primary_category="cs.AI",
            published=dt.date(2025, 6, 1),
        ),
    )
    service.search(SearchRequest(text="chaos cat:cs.AI", mode="semantic"))
    assert service.allowed_cache.misses == 2
    assert fake.calls[-1][2] == sorted(paper_ids(themed_sqlite)[a] for a in ("2502.00002", "2503.00003", "2506.00006"))


def test_phrases_are_required_in_every_mode(service: SearchService) -> None:
    # The fake relates "beliefs" to paper 4's "mind" too, but only paper 3 has the phrase.
    assert run(service, '"theory of mind" beliefs', mode="semantic") == ["2503.00003"]
    assert run(service, '"theory of mind" beliefs') == ["2503.00003"]


def test_a_filter_only_query_lists_matching_papers_newest_first(service: SearchService) -> None:
    assert run(service, "author:Lovelace") == ["2505.00005", "2501.00001"]


def test_sorting_by_newest_reorders_the_relevant_results(service: SearchService) -> None:
    relevant = set(run(service, "chaotic dynamics"))
    newest = run(service, "chaotic dynamics", sort="newest")
    assert set(newest) == relevant
    assert newest == ["2502.00002", "2501.00001"]


def test_sorting_by_trending_uses_the_wired_ranker_or_upvotes(
    themed_sqlite: Engine, index_dir: Path, fake: FakeSemantic
) -> None:
    service = build(themed_sqlite, index_dir, fake)
    assert run(service, "mind protein", sort="trending") == ["2503.00003", "2504.00004"]

    def fewest_votes_first(candidates: Sequence[TrendingCandidate]) -> list[Hit]:
        ordered = sorted(candidates, key=lambda c: (c.upvotes, c.paper_id))
        return [Hit(paper_id=c.paper_id, score=float(-c.upvotes)) for c in ordered]

    service.rank_trending = fewest_votes_first
    assert run(service, "mind protein", sort="trending") == ["2504.00004", "2503.00003"]


def test_pages_do_not_overlap_and_say_whether_more_follow(service: SearchService) -> None:
    everything = run(service, "chaos mind protein gradient", per_page=10)
    first = service.search(SearchRequest(text="chaos mind protein gradient", per_page=2))
    second = service.search(SearchRequest(text="chaos mind protein gradient", per_page=2, page=2))
    assert arxiv_ids(service.engine, first.hits + second.hits) == everything[:4]
    assert first.has_more and first.total >= len(everything)
    last = service.search(SearchRequest(text="chaos mind protein gradient", per_page=2, page=3))
    assert not last.has_more and len(last.hits) == len(everything) - 4


def test_lexical_totals_are_exact(service: SearchService) -> None:
    page = service.search(SearchRequest(text="learning", mode="lexical", per_page=1))
    assert page.total == 2 and page.total_exact and page.has_more


def test_lexical_totals_stop_counting_at_the_pageable_limit(
    themed_sqlite: Engine, index_dir: Path, fake: FakeSemantic
) -> None:
    # "chaotic" alone is in two papers: with two pageable results nothing more needs counting.
    service = build(themed_sqlite, index_dir, fake, max_results=2)
    page = service.search(SearchRequest(text="chaotic protein", mode="lexical", per_page=1))
    assert (page.total, page.total_exact, page.has_more) == (2, False, True)
    assert any("at least 2 match" in line for line in page.explain)


def test_explain_shows_the_parsed_query_each_engine_and_the_fusion(service: SearchService) -> None:
    page = service.search(SearchRequest(text="lorenz cat:cs.LG"))
    assert page.explain[0] == "query: lorenz cat:cs.LG"
    assert any(line.startswith("semantic: 'lorenz' among the 1 allowed by +category:(cs.lg)") for line in page.explain)
    assert any("text:lorenz title:lorenz^0.3" in line for line in page.explain if line.startswith("lexical:"))
    assert any(line.startswith("fusion: reciprocal rank, k=60") for line in page.explain)


def test_convex_fusion_can_be_chosen(themed_sqlite: Engine, index_dir: Path, fake: FakeSemantic) -> None:
    service = build(themed_sqlite, index_dir, fake, fusion="convex")
    page = service.search(SearchRequest(text="lorenz attractor"))
    assert arxiv_ids(themed_sqlite, page.hits)[0] == "2501.00001"
    assert any(line.startswith("fusion: convex") for line in page.explain)


def test_without_a_model_hybrid_falls_back_to_words_and_says_so(themed_sqlite: Engine, index_dir: Path) -> None:
    index = LexicalIndex(themed_sqlite, index_dir)
    index.open()

    def broken() -> FakeSemantic:
        raise OSError("model folder /models/missing not found")

    service = SearchService(themed_sqlite, index, broken)
    page = service.search(SearchRequest(text="chaotic"))
    assert page.mode == "lexical"
    assert page.notices == [
        "semantic search is unavailable: model folder /models/missing not found; showing word matches only"
    ]
    assert arxiv_ids(themed_sqlite, page.hits)[0] == "2501.00001"
    with pytest.raises(SearchUnavailable, match="model folder /models/missing not found"):
        service.search(SearchRequest(text="chaotic", mode="semantic"))


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (SearchRequest(text='"unclosed'), "unclosed quote"),
        (SearchRequest(text="   "), "the query is empty"),
        (SearchRequest(text="chaos", page=0), "page must be 1 or more"),
        (SearchRequest(text="chaos", per_page=5000), "per_page between 1 and 1000"),
        (SearchRequest(text="chaos", page=200, per_page=10), "only the first 1000 results"),
    ],
)
def test_bad_requests_raise_invalid_query(service: SearchService, request_: SearchRequest, message: str) -> None:
    with pytest.raises(InvalidQuery, match=message):
        service.search(request_)


def test_search_ids_serves_free_text_topics_even_with_stray_quotes(service: SearchService) -> None:
    ids = paper_ids(service.engine)
    assert service.search_ids("chaotic dynamics", 1) == [ids["2501.00001"]]
    assert service.search_ids('theory of "mind', 1) == [ids["2503.00003"]]


def test_similar_papers_come_from_embeddings_or_shared_words(
    themed_sqlite: Engine, index_dir: Path, fake: FakeSemantic
) -> None:
    ids = paper_ids(themed_sqlite)
    service = build(themed_sqlite, index_dir, fake)
    similar = service.similar(ids["2501.00001"], 3)
    assert arxiv_ids(themed_sqlite, similar) == ["2502.00002"]
    assert similar[0].detail == {"semantic": 1.0}
    words_only = build(themed_sqlite, index_dir, None)
    by_words = words_only.similar(ids["2501.00001"], 3)
    assert by_words and ids["2501.00001"] not in [hit.paper_id for hit in by_words]
    assert by_words[0].detail == {"lexical": 1.0}


def test_papers_stored_after_the_service_started_are_found(themed_engine: Engine, index_dir: Path) -> None:
    service = build(themed_engine, index_dir, None)
    store(
        themed_engine,
        Paper(arxiv_id="2507.00007", title="Turbulence closures", abstract="Eddies.", published=dt.date(2025, 7, 1)),
    )
    assert run(service, "turbulence", mode="lexical") == ["2507.00007"]


def test_a_model_that_fails_at_query_time_also_falls_back_to_words(
    themed_sqlite: Engine, index_dir: Path, fake: FakeSemantic
) -> None:
    class Mismatched(FakeSemantic):
        def search(self, query: str, k: int, candidates: object = None) -> list[Hit]:
            raise PapertideError("the stored vectors come from another model: run `papertide reindex`")

    service = build(themed_sqlite, index_dir, Mismatched(fake.texts))
    page = service.search(SearchRequest(text="chaotic"))
    assert page.mode == "lexical"
    assert "run `papertide reindex`; showing word matches only" in page.notices[0]
    with pytest.raises(SearchUnavailable, match="another model"):
        service.search(SearchRequest(text="chaotic", mode="semantic"))


class EverywhereSemantic(FakeSemantic):
    """Like a real model: every paper is at some small distance from any query (similarity 0.05 at least)."""

    def _score(self, query: str, paper_id: int) -> float:
        return max(super()._score(query, paper_id), 0.05)


@pytest.fixture
def everywhere(themed_sqlite: Engine) -> EverywhereSemantic:
    return EverywhereSemantic(texts_of(themed_sqlite))


def test_without_a_floor_every_paper_is_some_distance_from_a_nonsense_query(
    themed_sqlite: Engine, index_dir: Path, everywhere: EverywhereSemantic
) -> None:
    service = build(themed_sqlite, index_dir, everywhere, similarity_floor=0.0)
    page = service.search(SearchRequest(text="zzqxjvbw"))
    assert (len(page.hits), page.total, page.total_exact) == (5, 5, True)


@pytest.mark.parametrize("mode", ["hybrid", "semantic", "lexical"])
def test_a_query_nothing_is_close_to_finds_no_close_matches_and_says_so(
    themed_sqlite: Engine, index_dir: Path, everywhere: EverywhereSemantic, mode: str
) -> None:
    service = build(themed_sqlite, index_dir, everywhere, similarity_floor=0.2)
    page = service.search(SearchRequest(text="zzqxjvbw", mode=mode))  # type: ignore[arg-type]
    assert (page.hits, page.total, page.total_exact, page.has_more) == ([], 0, True, False)
    assert page.notices and page.notices[0].startswith("no close matches: no paper contains these words")


def test_papers_found_by_meaning_only_are_kept_above_the_floor_and_counted(
    themed_sqlite: Engine, index_dir: Path, everywhere: EverywhereSemantic
) -> None:
    service = build(themed_sqlite, index_dir, everywhere, similarity_floor=0.2)
    # "turbulence" is in no paper; papers 1 and 2 are about chaos (similarity 1), the rest 0.05.
    page = service.search(SearchRequest(text="turbulence"))
    assert sorted(arxiv_ids(themed_sqlite, page.hits)) == ["2501.00001", "2502.00002"]
    assert (page.total, page.total_exact) == (2, True)
    assert any("dropped 3 found by meaning only below 0.2" in line for line in page.explain)
    semantic = service.search(SearchRequest(text="turbulence", mode="semantic", per_page=1))
    assert (len(semantic.hits), semantic.total, semantic.total_exact, semantic.has_more) == (1, 2, True, True)


def test_the_total_counts_word_matches_and_close_papers_once(
    themed_sqlite: Engine, index_dir: Path, everywhere: EverywhereSemantic
) -> None:
    service = build(themed_sqlite, index_dir, everywhere, similarity_floor=0.2)
    # "learning" is in papers 1 and 2, which are also the two close in meaning to "turbulence".
    page = service.search(SearchRequest(text="learning turbulence", per_page=1))
    assert (page.total, page.total_exact, page.has_more) == (2, True, True)
    # "attention" is in paper 4 alone, whose similarity (0.05) is under the floor: words keep it.
    attention = service.search(SearchRequest(text="attention"))
    assert arxiv_ids(themed_sqlite, attention.hits) == ["2504.00004"]
    assert (attention.total, attention.total_exact) == (1, True)


def test_word_matches_beyond_the_fusion_depth_are_not_counted_twice(
    themed_sqlite: Engine, index_dir: Path, everywhere: EverywhereSemantic
) -> None:
    # Words: papers 1-4 contain "learning" or "models"; meaning: papers 3 and 4 are about the mind.
    # A fusion depth of 2 reads two word matches, so the index is asked whether 3 and 4 match words.
    service = build(themed_sqlite, index_dir, everywhere, similarity_floor=0.2, fusion_depth=2)
    page = service.search(SearchRequest(text="learning models cognition", per_page=1))
    assert sum(1 for line in page.explain if line.startswith("lexical:") and "top 2" in line) == 1
    assert (page.total, page.total_exact) == (4, True)


def test_a_total_over_the_pageable_limit_is_a_lower_bound(
    themed_sqlite: Engine, index_dir: Path, everywhere: EverywhereSemantic
) -> None:
    service = build(themed_sqlite, index_dir, everywhere, similarity_floor=0.0, max_results=3)
    page = service.search(SearchRequest(text="turbulence", per_page=1))
    assert (page.total, page.total_exact) == (3, False)


def test_search_among_candidate_ids_returns_only_those_papers(
    themed_sqlite: Engine, index_dir: Path, everywhere: EverywhereSemantic
) -> None:
    service = build(themed_sqlite, index_dir, everywhere, similarity_floor=0.2)
    ids = paper_ids(themed_sqlite)
    assert service.search_ids("chaotic dynamics", 10, within=[ids["2502.00002"], ids["2504.00004"]]) == [
        ids["2502.00002"]
    ]
    assert service.search_ids("chaotic dynamics", 10, within=[]) == []
    assert sorted(service.search_ids("chaotic dynamics", 10)) == sorted([ids["2501.00001"], ids["2502.00002"]])
