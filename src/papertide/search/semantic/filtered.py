"""How a filtered vector search runs: exact scores over the allowed papers or a graph walk admitting only them.

Pure: the choice depends only on how many papers are allowed among how many, and on the
configured cost of graph search width against exact dot products (issue 13). Scoring the
allowed vectors exactly costs one dot product each. Walking the HNSW graph with a faiss ID
selector visits about ``width`` nodes, and to find ``k`` allowed neighbours when a share ``s``
of papers is allowed the walk needs a width of about ``k / s`` (measured: recall@100 of a
fixed width falls from 0.98 at s = 0.45 to 0.14 at s = 0.01). Where the index has inverted lists
(lists.py), a third way reads the lists nearest the query until they hold ``scored / s`` rows
and scores their admitted rows exactly: about ``scored`` dot products whatever the share
(``scored`` measured on the index's own rows for the recall wanted), which can beat a walk ``k / s``
wide once the share falls to a fifth or so (issue 13). So narrow
filters are scored exactly, middling ones through the lists and broad ones walk the graph; none
over-fetches and discards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from papertide.search.semantic.lists import rows_to_read

Method = Literal["exact", "graph", "lists"]
# Reading one row number of a list and testing it against the filter's bitmap, against one exact dot product.
# Measured at a million rows (issue 13): reading 140,000 rows instead of 72,000 for the same 12,900 dot
# products (4.3 ms) cost 0.16 ms more, 0.007 of a dot product a row.
LIST_ROW_COST = 0.01
# A scan reads at most one row in this many: reading more gains little over scoring every admitted row
# exactly (a 2.2 % filter at a million papers: 4.4 against 4.9 ms) and gives up exact results for it.
LIST_READ_LIMIT = 4


@dataclass(frozen=True, slots=True)
class FilteredSearch:
    """How one filtered search runs.

    ``width``: the graph's search width (efSearch) when it walks the graph; the rows of the lists to
    read when it scans them.
    """

    method: Method
    width: int = 0

    def describe(self) -> str:
        """For explain lines: "exact", "graph, width 1,200" or "lists, 139,710 rows"."""
        if self.method == "lists":
            return f"lists, {self.width:,} rows"
        return "exact" if self.method == "exact" else f"graph, width {self.width:,}"


def choose_filtered_search(
    allowed: int, total: int, k: int, kind: str, *, ef_search: int, cost_ratio: float, lists: float | None = None
) -> FilteredSearch:
    """Exact scores, a scan of the nearest lists or a selective graph walk for ``allowed`` of ``total`` papers.

    Whichever should cost least, in exact dot products.

    :param ef_search: the graph's search width for an unfiltered search (IndexConfig.ef_search).
    :param cost_ratio: the cost of a unit of width against an exact dot product (IndexConfig.graph_cost_ratio).
    :param lists: the admitted rows a scan of the index's inverted lists scores (RowLists.scored, lists.py);
        None without lists.
    """
    if kind != "hnsw" or allowed <= 0 or total <= 0:
        return FilteredSearch("exact")
    share = min(1.0, allowed / total)
    width = min(total, math.ceil(max(ef_search, k) / share))
    costs: dict[FilteredSearch, float] = {FilteredSearch("exact"): allowed}
    if lists is not None and math.isfinite(lists):
        rows = math.ceil(rows_to_read(lists, k, share))
        if rows * LIST_READ_LIMIT <= total:
            costs[FilteredSearch("lists", rows)] = min(allowed, rows * share) + LIST_ROW_COST * rows
    costs[FilteredSearch("graph", width)] = cost_ratio * width
    # Ties go to the first: exact scores, then the lists (whose recall is at or above the walk's).
    return min(costs, key=lambda plan: costs[plan])


# Reading one neighbour unfiltered and checking it against the filter (graph width and one
# primary-key probe, on pages of a 1.5 GB graph and a 4.5 GB database) against reading one allowed
# id and admitting it in the bitmap. Measured at a million papers on a loaded 2-core machine (issue
# 13, docs/search.md): 20 µs (512 neighbours, cat:cs.LG) to 44 µs (1,682, since:) against 0.25 µs.
NEAREST_FIRST_COST_RATIO = 150.0
# Neighbours read beyond k / share, for queries whose neighbours pass the filter less often than papers do.
NEAREST_FIRST_MARGIN = 1.5


def choose_nearest_first(share: float, k: int, total: int) -> int | None:
    """How many nearest papers to read unfiltered so that about ``k`` pass a filter allowing ``share`` of ``total``.

    None when reading the filter's allowed ids costs less (``share * total`` of them): checking
    ``k * margin / share`` neighbours wins only for broad filters, from a share of about
    sqrt(k * margin * ratio / total): 21 % at a million papers and k = 200, 67 % at 100,000. The
    caller checks the filter on those neighbours only and falls back to the allowed ids when fewer
    than ``k`` pass, so a wrong ``share`` costs time, never results.
    """
    if k <= 0 or total <= 0 or share <= 0:
        return None
    share = min(share, 1.0)
    wanted = math.ceil(k * NEAREST_FIRST_MARGIN / share)
    if wanted * NEAREST_FIRST_COST_RATIO >= share * total:
        return None
    return min(wanted, total)


def uses_before_reading(share: float, read: int, total: int) -> float:
    """How many searches a filter takes nearest first before its allowed ids are read and kept.

    Each search nearest first pays the check of ``read`` neighbours; reading the ids once
    (``share * total`` of them) makes every later search as cheap as a narrow filter's. Like
    renting skis until the rent paid would have bought them, the ids are read once the checks
    have cost about what reading them costs: never more than twice the cheaper of the two
    choices made in hindsight, whether the filter is used once or a thousand times.
    """
    rent = read * NEAREST_FIRST_COST_RATIO
    return math.inf if rent <= 0 else max(1.0, share * total / rent)
