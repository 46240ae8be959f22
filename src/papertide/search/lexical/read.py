"""Reading the lexical index: ranked search, counts, filter checks and more-like-this.

A mixin of LexicalIndex (index.py), which keeps the index current; everything here only
reads the last commit the process has loaded.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import numpy.typing as npt
import tantivy

from papertide.search.changes import PaperText
from papertide.search.lexical.analyzer import FIELD_PAPER_ID, FIELD_PUBLISHED, FIELD_TEXT
from papertide.search.ranked import Ranked


def _count(result: tantivy.SearchResult) -> int:
    # SearchResult.count exists when searching with count=True but is missing from the stubs.
    return int(getattr(result, "count", 0) or 0)


class LexicalReader(ABC):
    """Queries over the searcher of a LexicalIndex (which supplies ``searcher``)."""

    schema: tantivy.Schema

    @abstractmethod
    def searcher(self) -> tantivy.Searcher:
        """A searcher over the last commit this process has loaded."""

    def _paper_ids(self, searcher: tantivy.Searcher, hits: list[tuple[Any, tantivy.DocAddress]]) -> list[int]:
        values = searcher.fast_field_values(FIELD_PAPER_ID, [address for _, address in hits])
        return [int(value) if value is not None else -1 for value in values]

    def search(self, query: tantivy.Query, limit: int, *, count: bool = True) -> tuple[list[tuple[int, float]], int]:
        """The ``limit`` best (paper id, BM25 score) pairs and how many papers match in all.

        :param count: count every match; False returns the number of hits instead and lets
            tantivy skip the blocks that cannot reach the top (much faster for common words).
        """
        searcher = self.searcher()
        result = searcher.search(query, max(limit, 1), count=count)
        ids = self._paper_ids(searcher, result.hits)
        ranked = [(paper_id, float(score)) for paper_id, (score, _) in zip(ids, result.hits, strict=True)]
        ranked = [pair for pair in ranked if pair[0] >= 0][:limit]
        return ranked, _count(result) if count else len(ranked)

    def search_ranked(self, query: tantivy.Query, limit: int) -> Ranked:
        """The ``limit`` best papers by BM25 as arrays: ``search(query, limit, count=False)`` without a tuple per hit.

        The digest asks this for thousands of topics (issue 13); ids and scores go straight into
        numpy, the scores as float64 copies of tantivy's float32 ones, as ``search`` gives them.
        """
        return self.search_counted(query, limit, count=False)[0]

    def search_counted(self, query: tantivy.Query, limit: int, *, count: bool = True) -> tuple[Ranked, int]:
        """``search`` as arrays (what hybrid search fuses, issue 13): the ranking and the match count."""
        searcher = self.searcher()
        result = searcher.search(query, max(limit, 1), count=count)
        hits = result.hits
        if not hits:
            return Ranked.empty(), _count(result) if count else 0
        # One zip for the ~700 hits of a topic: a generator per column cost ~0.25 ms per topic (issue 13).
        found, addresses = zip(*hits, strict=True)
        values = searcher.fast_field_values(FIELD_PAPER_ID, list(addresses))
        if None in values:
            values = [-1 if value is None else value for value in values]
        ids = np.array(values, dtype=np.int64)
        scores = np.array(found, dtype=np.float64)
        known = ids >= 0
        ranked = Ranked(ids[known][:limit], scores[known][:limit])
        return ranked, _count(result) if count else len(ranked)

    def ranked_prefix(self, query: tantivy.Query, limit: int) -> tuple[Ranked, bool]:
        """``search_ranked(query, limit)`` and whether it holds every match (fewer than ``limit`` found)."""
        searcher = self.searcher()
        hits = searcher.search(query, max(limit, 1), count=False).hits
        if not hits:
            return Ranked.empty(), True
        found, addresses = zip(*hits, strict=True)
        values = searcher.fast_field_values(FIELD_PAPER_ID, list(addresses))
        ids = np.array([-1 if value is None else value for value in values], dtype=np.int64)
        known = ids >= 0
        return Ranked(ids[known], np.array(found, dtype=np.float64)[known]), len(hits) < limit

    def count_between(self, query: tantivy.Query, low: int, high: int) -> int:
        """How many papers with an id from ``low`` to ``high`` match ``query`` (a fast-field range, no postings)."""
        ids = tantivy.Query.range_query(
            self.schema,
            FIELD_PAPER_ID,
            tantivy.FieldType.Integer,
            lower_bound=low,
            upper_bound=high,
            use_inverted_index=False,
        )
        within = tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.Must, ids)])
        return self.count(within)

    def most_frequent_term(self, terms: tuple[tuple[str, str], ...]) -> tuple[str, str, int]:
        """The (field, term) pair of ``terms`` in the most papers, and that number (("", "", 0) for none)."""
        searcher = self.searcher()
        return max(
            ((field, term, searcher.doc_freq(field, term)) for field, term in terms),
            key=lambda found: found[2],
            default=("", "", 0),
        )

    def most_frequent(self, terms: tuple[tuple[str, str], ...]) -> int:
        """The largest document frequency among (field, term) pairs: a lower bound of an any-word match count."""
        searcher = self.searcher()
        return max((searcher.doc_freq(field, term) for field, term in terms), default=0)

    def newest(self, query: tantivy.Query, limit: int) -> tuple[list[tuple[int, float]], int]:
        """Matching papers, most recently published first, as (paper id, day ordinal) pairs, and the count."""
        searcher = self.searcher()
        result = searcher.search(
            query, max(limit, 1), count=True, order_by_field=FIELD_PUBLISHED, order=tantivy.Order.Desc
        )
        ids = self._paper_ids(searcher, result.hits)
        ranked = [(paper_id, float(day or 0)) for paper_id, (day, _) in zip(ids, result.hits, strict=True)]
        return [pair for pair in ranked if pair[0] >= 0][:limit], _count(result)

    def count(self, query: tantivy.Query) -> int:
        """How many papers match."""
        return _count(self.searcher().search(query, 1, count=True))

    def matching_ids(self, query: tantivy.Query, total: int) -> npt.NDArray[np.int64]:
        """The ids of the ``total`` papers matching ``query`` (as counted by ``count``), sorted.

        Costs about half a microsecond per id in tantivy's Python binding (measured), which is
        why search/allowed.py keeps the answers of recent filters.
        """
        if total <= 0:
            return np.zeros(0, dtype=np.int64)
        # Ordering by the id field hands back each id as the sort value: no second lookup per hit.
        hits = self.searcher().search(query, total, count=False, order_by_field=FIELD_PAPER_ID).hits
        ids = np.fromiter((value for value, _ in hits if value is not None), dtype=np.int64)
        ids.sort()
        return ids

    def keep_matching(self, query: tantivy.Query, paper_ids: list[int]) -> set[int]:
        """Those of ``paper_ids`` that match ``query``."""
        if not paper_ids:
            return set()
        # One SHOULD term per id: at a million papers a term-set query over the id field scanned
        # its whole dictionary (40 ms for 1,000 ids), this looks each id up (under 10 ms).
        ids = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(self.schema, FIELD_PAPER_ID, i)) for i in paper_ids]
        )
        restricted = tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.Must, ids)])
        searcher = self.searcher()
        hits = searcher.search(restricted, len(paper_ids), count=False).hits
        return set(self._paper_ids(searcher, hits))

    def similar(self, paper: PaperText, limit: int) -> list[tuple[int, float]]:
        """Papers sharing the most distinctive words of ``paper`` (more-like-this), itself excluded."""
        like = tantivy.Query.more_like_this_document_fields_query(
            self.schema,
            {FIELD_TEXT: [paper.title, paper.abstract]},
            min_doc_frequency=1,
            min_term_frequency=1,
            max_query_terms=30,
        )
        query = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Must, like),
                (tantivy.Occur.MustNot, tantivy.Query.term_query(self.schema, FIELD_PAPER_ID, paper.id)),
            ]
        )
        return self.search(query, limit)[0]
