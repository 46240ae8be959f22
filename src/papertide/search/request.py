"""The vocabulary of the read side: requests, result pages, tuning options and the semantic port."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, get_args

from papertide.domain.errors import PapertideError
from papertide.domain.models import Hit
from papertide.domain.query import SearchQuery
from papertide.domain.trending import TrendingCandidate
from papertide.search.lexical.plan import FieldWeights
from papertide.search.ranked import Ranked

Mode = Literal["hybrid", "lexical", "semantic"]
Sort = Literal["relevance", "trending", "newest"]
Fusion = Literal["rrf", "convex"]
MODES: tuple[Mode, ...] = get_args(Mode)
SORTS: tuple[Sort, ...] = get_args(Sort)

# Orders trending candidates best first (domain.trending.score_trending bound to the settings and a clock).
TrendingRanker = Callable[[Sequence[TrendingCandidate]], list[Hit]]


def describe_total(total: int, exact: bool) -> str:
    """How many results there are, in words: "no results", "12 results", "at least 1,000 results"."""
    if total == 0:
        return "no results"
    return f"{'' if exact else 'at least '}{total:,} result{'' if total == 1 else 's'}"


# The start of the notice of filters that no stored paper passes (the search page words its advice by it).
NO_PAPER_PASSES = "no close matches: no paper stored here passes"


def describe_no_match(mode: Mode, unmet: str | None = None) -> str:
    """The notice of a search with words that found nothing (page, API, feed and CLI say it).

    ``unmet``: the filters and phrases (as typed, canonical form) when no stored paper passes them
    at all, whatever the words: then they, not the words, are what to change.
    """
    if unmet is not None:
        return f"{NO_PAPER_PASSES} {unmet}"
    if mode == "lexical":
        return "no close matches: no paper contains these words"
    return "no close matches: no paper contains these words or is close enough in meaning"


class SearchUnavailable(PapertideError):
    """The requested kind of search cannot run here (e.g. no embedding model); the message says why."""


class SemanticRanker(Protocol):
    """What search needs of the semantic side (search/semantic/searcher.py, SemanticSearcher)."""

    def search(self, query: str, k: int, candidates: Collection[int] | None = None) -> list[Hit]:
        """The ``k`` papers nearest in meaning to ``query``, among ``candidates`` when given."""
        ...

    def rank(self, query: str, k: int, candidates: Collection[int] | None = None) -> Ranked:
        """``search`` as arrays of ids and scores, best first (what hybrid search fuses)."""
        ...

    def similar(self, paper_id: int, k: int) -> list[Hit]:
        """The ``k`` papers nearest to a paper (itself excluded); empty when it has no vector yet."""
        ...


@dataclass(frozen=True, slots=True)
class SearchOptions:
    """Fusion and paging parameters (settings under "search" in config.py)."""

    field_weights: FieldWeights = field(default_factory=FieldWeights)
    fusion: Fusion = "rrf"
    fusion_k: float = 60.0
    lexical_weight: float = 1.0
    semantic_weight: float = 1.0
    # Each engine's list is cut at this depth before fusion; deeper pages use max_results.
    fusion_depth: int = 100
    max_results: int = 1000
    # Sorting by trending or date re-orders this many of the most relevant results.
    sort_pool: int = 200
    # A filtered semantic search reads the neighbours among the allowed papers down to max_results
    # (an exact count) when at most this many pass; a broader filter reads only the fusion depth.
    candidate_limit: int = 20_000
    # Cosine similarity below which a paper found by meaning only (no query word) is not a result.
    # Model-specific; calibrated on SciFact train queries (docs/search-quality.md). -1 keeps every neighbour.
    similarity_floor: float = -1.0


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """One search as a user asked for it."""

    text: str
    mode: Mode = "hybrid"
    sort: Sort = "relevance"
    page: int = 1
    per_page: int = 10
    # Only these papers may be results (the digest's candidates); None: every paper.
    within: frozenset[int] | None = None


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of results: ids and scores (callers fill in paper details) and how many there are."""

    query: SearchQuery
    hits: list[Hit]
    # Results that exist: word matches plus papers found by meaning above the similarity floor,
    # capped at max_results. Exact unless ``total_exact`` is False, when it is a lower bound
    # (more match than can be paged, or a broad filter's semantic side was not read to the end).
    total: int
    total_exact: bool
    has_more: bool
    # The mode that ran: "hybrid" falls back to "lexical" when semantic search is unavailable.
    mode: Mode
    explain: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    # The order used: a query of filters only (e.g. author:) has no relevance and lists newest first.
    sort: Sort = "relevance"
