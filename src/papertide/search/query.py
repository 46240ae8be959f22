"""Read side of search: a query string in, one page of ranked paper ids out.

``SearchService`` is built once at each composition root (web app, CLI) from the lexical index
and, optionally, a loader of the semantic searcher, which is called on first use so that the
embedding model is only loaded when a query needs it. Modes: ``hybrid`` fuses BM25 and
embedding rankings (domain.ranking), ``lexical`` and ``semantic`` run one engine.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import TypeVar

from sqlalchemy import Engine

from papertide.domain.errors import InvalidQuery, PapertideError
from papertide.domain.models import Hit
from papertide.domain.query import SearchQuery, parse_query
from papertide.search.allowed import AllowedCache, Ids
from papertide.search.allowed_ids import read_allowed_ids
from papertide.search.beside import Beside
from papertide.search.changed_since import ChangedSince
from papertide.search.changes import fetch_paper_text
from papertide.search.database_filter import DatabaseFilter, compose_database_filter
from papertide.search.filtered_side import FilterSources, rank_filtered
from papertide.search.hybrid import LexicalRun, fuse_sides
from papertide.search.lexical.broad import Membership
from papertide.search.lexical.index import LexicalIndex
from papertide.search.lexical.plan import LexicalPlan, compose_lexical_plan, restrict_plan
from papertide.search.ranked import Ranked, describe_hits
from papertide.search.request import (
    Mode,
    SearchOptions,
    SearchPage,
    SearchRequest,
    SearchUnavailable,
    SemanticRanker,
    TrendingRanker,
    describe_no_match,
)
from papertide.search.sorting import sort_by_date, sort_by_trending
from papertide.search.word_side import SnapshotFilter, prepare_first_use, run_words

log = logging.getLogger(__name__)
Pairs = list[tuple[int, float]]
Found = TypeVar("Found")
# A semantic searcher that failed to load is tried again after this long (e.g. after a reindex).
RETRY_SEMANTIC_SECONDS = 60.0
TEMPORARILY_UNAVAILABLE = "semantic search is temporarily unavailable"
# Threads that run hybrid search's word side beside its meaning side (search/beside.py); a request
# that finds them all busy runs its word side itself, after the meaning side, as before.
LEXICAL_WORKERS = 4


@dataclass(frozen=True, slots=True)
class _SemanticRun:
    """What the semantic side found for one query."""

    # The nearest ``depth`` papers, best first, whatever their similarity (fusion input).
    ranked: Ranked
    # Every paper read at or above the similarity floor, best first.
    above: Ranked
    # Whether ``above`` holds every paper above the floor (the neighbours were read down to it).
    complete: bool


def _milliseconds(start: float) -> str:
    return f"{(time.perf_counter() - start) * 1000:.1f} ms"


class SearchService:
    """Hybrid, lexical and semantic search with filters, sorting and pages."""

    def __init__(
        self,
        engine: Engine,
        lexical: LexicalIndex,
        load_semantic: Callable[[], SemanticRanker] | None = None,
        options: SearchOptions | None = None,
        rank_trending: TrendingRanker | None = None,
    ) -> None:
        self.engine = engine
        self.lexical = lexical
        self.options = options or SearchOptions()
        self.rank_trending = rank_trending
        self._load_semantic = load_semantic
        self._semantic: SemanticRanker | None = None
        self._semantic_error: tuple[float, str] | None = None
        self._semantic_lock = threading.Lock()
        self.allowed_cache = AllowedCache()
        self.filter_sources = FilterSources(self.allowed_cache, lexical, engine, self.options.candidate_limit)
        self.beside = Beside(LEXICAL_WORKERS, "papertide-lexical")
        # Bit sets of the kept ids of broad filters, for their word side (search/lexical/broad.py).
        self.membership = Membership()

    # --- semantic side ----------------------------------------------------------------------

    def semantic(self) -> SemanticRanker:
        """The semantic searcher, loaded on first use; raises SearchUnavailable with the reason."""
        if self._semantic is not None:
            return self._semantic
        if self._load_semantic is None:
            raise SearchUnavailable("semantic search is not configured")
        with self._semantic_lock:
            if self._semantic is not None:
                return self._semantic
            if self._semantic_error and time.monotonic() - self._semantic_error[0] < RETRY_SEMANTIC_SECONDS:
                raise SearchUnavailable(self._semantic_error[1])
            try:
                self._semantic = self._load_semantic()
            except (PapertideError, OSError, ImportError) as error:
                message = f"semantic search is unavailable: {error}"
                log.warning("%s", message)
                self._semantic_error = (time.monotonic(), message)
                raise SearchUnavailable(message) from error
            except Exception as error:
                # Anything else (a damaged index file, a library error) must not take search down
                # with it (issue 9): log it whole and answer by words until the next attempt.
                log.exception("the semantic searcher could not be opened")
                message = f"{TEMPORARILY_UNAVAILABLE} ({type(error).__name__})"
                self._semantic_error = (time.monotonic(), message)
                raise SearchUnavailable(message) from error
            self._semantic_error = None
            return self._semantic

    @staticmethod
    def _guarded(call: Callable[[], Found]) -> Found:
        """Run a semantic call; a model that cannot load or vectors of another model make it unavailable."""
        try:
            return call()
        except SearchUnavailable:
            raise
        except (PapertideError, OSError) as error:
            raise SearchUnavailable(f"semantic search is unavailable: {error}") from error
        except Exception as error:
            log.exception("a semantic search failed")
            raise SearchUnavailable(f"{TEMPORARILY_UNAVAILABLE} ({type(error).__name__})") from error

    # --- searching --------------------------------------------------------------------------

    def search(self, request: SearchRequest) -> SearchPage:
        """One page of results for ``request``; raises InvalidQuery for bad syntax or paging."""
        options = self.options
        query = parse_query(request.text)
        if query.is_empty:
            raise InvalidQuery('the query is empty: type some words, a "phrase" or a filter such as cat:cs.LG')
        if request.page < 1 or not 1 <= request.per_page <= options.max_results:
            raise InvalidQuery(f"page must be 1 or more and per_page between 1 and {options.max_results}")
        offset = (request.page - 1) * request.per_page
        if offset >= options.max_results:
            raise InvalidQuery(f"only the first {options.max_results} results can be paged through")
        self.lexical.ensure_open()
        plan = compose_lexical_plan(self.lexical.schema, query, options.field_weights)
        listed = compose_database_filter(query, self.engine.dialect.name)
        if request.within is not None:  # the papers within: only the index can require them
            plan, listed = restrict_plan(self.lexical.schema, plan, request.within), None
        # Plain hybrid's meaning side never reads the lexical index, a filtered one with kept ids only their
        # commit: the freshness check (a round trip on PostgreSQL) runs on the word side's thread (the meaning
        # side runs again if it loaded a newer commit); anything else reads the index after the check (``latest``:
        # the highest papers.seq it read, which tells a first use whether papers changed since the vector snapshot).
        beside = request.mode == "hybrid" and query.has_text
        refresh_beside = beside and (plan.required is None or self.allowed_cache.holds(plan.required_key))
        latest = None if refresh_beside else self.lexical.refresh()
        needed = offset + request.per_page + 1
        sorting = request.sort != "relevance"
        if sorting:
            depth = options.sort_pool
        elif request.mode != "hybrid":
            # One engine: its own top ``needed`` is already the page; no fusion to feed.
            depth = min(needed, options.max_results)
        else:
            depth = options.fusion_depth if needed <= options.fusion_depth else options.max_results
        explain = [f"query: {query.describe()}"]
        notices: list[str] = []
        mode: Mode = request.mode
        # The rankings each hit's ranks and scores are read from, in the order they ran (semantic first).
        sources: list[tuple[str, Ranked]] = []
        # Only the head of a fused list is ordered: the page and the next one's first hit, or the sort pool.
        keep = options.sort_pool if sorting else needed
        if not query.has_text:
            if plan.required is None:
                # compose_lexical_plan refuses filters that analyse to nothing; kept as a 400, not a 500.
                raise InvalidQuery(f"nothing in {query.describe()!r} can be searched for")
            newest, total = self.lexical.newest(plan.required, depth)
            ranked, exact = Ranked.from_pairs(newest), True
            explain.append(f"filters only: {plan.required_description}, newest first; {total} match")
        elif mode == "lexical":
            _, snapshot = prepare_first_use(self._semantic, self.allowed_cache, plan, query, self.engine, latest)
            words_only = self._add_lexical(self._run_words(plan, depth, snapshot), explain, sources)
            ranked, total, exact = words_only.ranked, words_only.total, words_only.exact
        else:
            # The lexical index's commit after the word side's freshness check, when it made one.
            refreshed: list[int] = []
            # A first use's snapshot and the papers changed since (changed_since.py), read once: the word side
            # checks its hits there, the meaning side its neighbours.
            changes, snapshot = prepare_first_use(self._semantic, self.allowed_cache, plan, query, self.engine, latest)
            words = (
                self.beside.start(lambda: self._lexical_side(plan, depth, refresh_beside, refreshed, snapshot))
                if beside
                else None
            )
            # Read before the meaning side reads the index: the commit its allowed ids are at least at.
            seen = self.lexical.generation
            semantic_explain: list[str] = []
            semantic_sources: list[tuple[str, Ranked]] = []
            try:
                semantic = self.semantic()
                found = self._run_semantic(
                    semantic, query, plan, listed, depth, semantic_explain, semantic_sources, changes
                )
            except SearchUnavailable as error:
                if words is None:
                    raise
                notices.append(f"{error}; showing word matches only")
                mode = "lexical"
                fallback = self._add_lexical(words.result(), explain, sources)
                ranked, total, exact = fallback.ranked, fallback.total, fallback.exact
            except BaseException:
                if words is not None:
                    words.abandon()
                raise
            else:
                if words is not None:
                    run = words.result()
                    if plan.required is not None and refreshed and refreshed[0] > seen:
                        # The check loaded a commit newer than the allowed ids' own: the meaning side runs
                        # again as if the check had come first (if it fails now, its first answer stands).
                        again: tuple[list[str], list[tuple[str, Ranked]]] = ([], [])
                        try:
                            found = self._run_semantic(semantic, query, plan, listed, depth, *again, changes)
                            semantic_explain, semantic_sources = again
                        except SearchUnavailable:
                            log.warning("a filtered search kept its meaning side's first run", exc_info=True)
                    explain.extend(semantic_explain)
                    sources.extend(semantic_sources)
                    lexical = self._add_lexical(run, explain, sources)
                    ranked, total, exact = fuse_sides(
                        found,
                        lexical,
                        plan=plan,
                        depth=depth,
                        keep=keep,
                        options=options,
                        lexical=self.lexical,
                        explain=explain,
                    )
                else:
                    explain.extend(semantic_explain)
                    sources.extend(semantic_sources)
                    # Meaning only: every hit is held to the floor.
                    ranked, total, exact = found.above.head(depth), len(found.above), found.complete
        if sorting:
            ranked = Ranked.from_pairs(self._sort(ranked.head(options.sort_pool).pairs(), request, explain))
            total, exact = min(total, len(ranked)), exact or total <= len(ranked)
        if total >= options.max_results:
            total, exact = options.max_results, total == options.max_results and exact
        if total == 0 and not len(ranked) and query.has_text:
            notices.append(describe_no_match(mode, self._unmet_filters(query, plan, request)))
        hits = describe_hits(ranked.slice(offset, offset + request.per_page), sources)
        return SearchPage(
            query=query,
            hits=hits,
            total=total,
            total_exact=exact,
            has_more=len(ranked) > offset + request.per_page and offset + request.per_page < options.max_results,
            mode=mode,
            explain=explain,
            notices=notices,
            sort="newest" if request.sort == "relevance" and not query.has_text else request.sort,
        )

    def _unmet_filters(self, query: SearchQuery, plan: LexicalPlan, request: SearchRequest) -> str | None:
        """The query's filters and phrases when no stored paper passes them (one count, asked only when nothing
        was found), else None: the words found nothing. Searches within given papers are not told apart."""
        if plan.required is None or request.within is not None or self.lexical.count(plan.required):
            return None
        return replace(query, words=(), text="").describe()

    def _lexical_side(
        self, plan: LexicalPlan, depth: int, refresh: bool, refreshed: list[int], snapshot: SnapshotFilter | None
    ) -> LexicalRun:
        """Hybrid's word side, on a worker thread: its explain line and source are kept for the caller.

        With ``refresh``, the freshness check runs first and the commit it left the index at is
        put in ``refreshed`` (the caller compares it with the commit its meaning side read).
        """
        if refresh:
            self.lexical.refresh()
            refreshed.append(self.lexical.generation)
        return self._run_words(plan, depth, snapshot)

    def _run_words(self, plan: LexicalPlan, depth: int, snapshot: SnapshotFilter | None = None) -> LexicalRun:
        """BM25 top ``depth`` and the match count (search/word_side.py: a broad filter's read unfiltered)."""
        options = self.options
        return run_words(self.lexical, self.allowed_cache, plan, depth, options.max_results, self.membership, snapshot)

    @staticmethod
    def _add_lexical(run: LexicalRun, explain: list[str], sources: list[tuple[str, Ranked]]) -> LexicalRun:
        """The word side's run, its explain line and source added after the semantic side's (as they ran before)."""
        explain.extend(run.explain)
        sources.extend(run.sources)
        return run

    def _run_semantic(
        self,
        semantic: SemanticRanker,
        query: SearchQuery,
        plan: LexicalPlan,
        listed: DatabaseFilter | None,
        depth: int,
        explain: list[str],
        sources: list[tuple[str, Ranked]],
        changes: ChangedSince | None = None,
    ) -> _SemanticRun:
        """The nearest papers at ``depth`` (for fusion) and every one above the similarity floor.

        Counting what clears the floor needs the neighbours down to the floor, so up to
        max_results are read (the vector index's cost hardly depends on k). A filter hands the
        vector index the ids it allows (issue 13: no over-fetching and discarding); when more
        than candidate_limit pass, only ``depth`` are read and the count may be incomplete.
        """
        options = self.options
        start = time.perf_counter()
        wanted = max(depth, options.max_results)
        if plan.required is None:
            hits = self._guarded(lambda: semantic.rank(query.text, wanted))
            how = "all papers"
            complete = len(hits) < wanted
        else:
            read = self.filter_sources
            hits, how, complete = rank_filtered(
                semantic, query, plan, listed, depth, wanted, read, self._guarded, changes
            )
        floor = options.similarity_floor
        ranked = hits.head(depth)
        above = hits.where(hits.scores >= floor)
        # The hits come best first: once one is under the floor, every paper above it was read.
        complete = complete or len(above) < len(hits)
        explain.append(
            f"semantic: {query.text!r} among {how} -> top {len(ranked)}, {len(above)}"
            f"{'' if complete else '+'} at or above the similarity floor {floor:g}, in {_milliseconds(start)}"
        )
        sources.append(("semantic", ranked))
        return _SemanticRun(ranked=ranked, above=above, complete=complete)

    def allowed_ids(self, plan: LexicalPlan, listed: DatabaseFilter | None = None) -> Ids:
        """The sorted ids of the papers passing the plan's filters, kept (search/allowed_ids.py)."""
        return read_allowed_ids(self.allowed_cache, self.lexical, self.engine, plan, listed)

    def _sort(self, ranked: Pairs, request: SearchRequest, explain: list[str]) -> Pairs:
        with self.engine.connect() as conn:
            if request.sort == "newest":
                explain.append(f"sort: newest first among the {len(ranked)} most relevant")
                return sort_by_date(conn, ranked)
            explain.append(f"sort: trending among the {len(ranked)} most relevant")
            return sort_by_trending(conn, ranked, self.rank_trending)

    # --- conveniences for other parts of papertide --------------------------------------------

    def search_ids(self, text: str, k: int, within: Collection[int] | None = None) -> list[int]:
        """The ``k`` best paper ids for free text, by hybrid relevance (digest topics use this).

        Text that is not valid query syntax (a stray quote) is searched as plain words. With
        ``within``, only those papers are searched (the digest's candidates).
        """
        k = max(1, min(k, self.options.max_results))
        among = None if within is None else frozenset(within)
        if among is not None and not among:
            return []
        try:
            page = self.search(SearchRequest(text=text, per_page=k, within=among))
        except InvalidQuery:
            plain = text.replace('"', " ").replace(":", " ").strip()
            if not plain:
                return []
            page = self.search(SearchRequest(text=plain, per_page=k, within=among))
        return [hit.paper_id for hit in page.hits]

    def similar(self, paper_id: int, k: int) -> list[Hit]:
        """Papers nearest in meaning to one paper; by shared words when it has no vector or there is no model."""
        try:
            hits = self._guarded(lambda: self.semantic().similar(paper_id, k))
        except SearchUnavailable:
            hits = []
        if hits:
            return [Hit(paper_id=h.paper_id, score=h.score, detail={"semantic": 1.0}) for h in hits]
        self.lexical.ensure_open()
        self.lexical.refresh()
        with self.engine.connect() as conn:
            paper = fetch_paper_text(conn, paper_id)
        if paper is None:
            return []
        return [Hit(paper_id=i, score=s, detail={"lexical": 1.0}) for i, s in self.lexical.similar(paper, k)]
