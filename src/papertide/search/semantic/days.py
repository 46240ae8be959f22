"""Every paper's publication day, kept beside the vector snapshot, so a date filter's first use reads no ids (issue 13).

The first use of a date filter (since:, until:) read every allowed paper id from the database
(SQLite) or from tantivy (PostgreSQL): 178,000 ids for since:2024-01-01 at a million papers,
the bulk of a search 2.8 to 5.3 times plain hybrid's. The snapshot writer (snapshot.py) also
writes, for every paper stored, its id (sorted) and its publication day (days since 1970-01-01,
``NO_DAY`` for none) as of the papers' change seq it read them at. A date filter's papers are
then one vectorised comparison over the day array; the papers changed since that seq (at most
``CHANGED_LIMIT``, search/changes.py) are asked of the database one by one and taken out or put
in, so the answer is exactly the database's now (papers are never deleted; ids are never
reused). A snapshot without the arrays (written before them) reads the ids as before.

Every paper, not every vector row: a filter's count (how many it allows, the explain line, how
deep its neighbours are read) counts papers without a vector too, as the database's answer does.
The same snapshot keeps every paper's categories in the same order (categories.py), so a filter
of categories, or of categories and dates, is answered the same way; a snapshot written before
them has days alone (category filters read ids as before). A broad filter's nearest papers are
checked here too, looked up by id (``PublishedDays.keep``, search/nearest_first.py).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, select

from papertide.search.changes import fetch_max_seq
from papertide.search.semantic.categories import (
    PaperCategories,
    compose_paper_categories,
    load_paper_categories,
    save_paper_categories,
)
from papertide.search.semantic.selections import Selections
from papertide.store.schema import paper_categories, papers

log = logging.getLogger(__name__)

Ids = npt.NDArray[np.int64]
Days = npt.NDArray[np.int32]
Mask = npt.NDArray[np.bool_]
EPOCH = dt.date(1970, 1, 1)
# A paper without a publication date: it passes no date bound, as in the database (``published >= d`` is NULL).
NO_DAY = np.iinfo(np.int32).min
IDS_FILE = "day_ids.npy"
DAYS_FILE = "days.npy"
SEQ_KEY = "days_seq"
# Papers changed since the snapshot asked about one by one at most; above, the ids are read as before.
CHANGED_LIMIT = 5000


def day_number(day: dt.date) -> int:
    """``day`` as days since ``EPOCH``."""
    return day.toordinal() - EPOCH.toordinal()


@dataclass(frozen=True, slots=True)
class PublishedDays:
    """Every paper's id (sorted), publication day and (when kept) categories, as of papers' change seq ``seq``."""

    ids: Ids
    days: Days
    seq: int
    # None for a snapshot written before categories were kept (categories.py).
    categories: PaperCategories | None = None
    # The masks of the id arrays selected from these papers, for the vector index's bitmap (selections.py).
    selections: Selections = field(default_factory=Selections, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.ids.shape != self.days.shape or self.ids.ndim != 1:
            raise ValueError(f"{len(self.ids)} paper ids but {len(self.days)} days")
        if self.categories is not None and self.categories.papers != len(self.ids):
            raise ValueError(f"{len(self.ids)} paper ids but categories of {self.categories.papers} papers")

    def select(self, since: dt.date | None, until: dt.date | None, names: Collection[str] | None = None) -> Ids:
        """The sorted ids of the papers published from ``since`` to ``until`` (both included) as of ``seq``.

        ``names``: and filed under one of these stored category names (None: any or none).
        """
        return self.ids_at(self.passing(since, until, names))

    def passing(self, since: dt.date | None, until: dt.date | None, names: Collection[str] | None = None) -> Mask:
        """Per paper (in ``ids``' order), whether it passes ``select``'s filter as of ``seq``."""
        if since is None and until is None and names is None:
            raise ValueError("a publication range needs since, until or both")
        passing: Mask | None = None
        if names is not None:
            if self.categories is None:
                raise ValueError("this snapshot keeps no categories")
            passing = self.categories.passing(names)
        if since is not None or until is not None:
            days = np.asarray(self.days)
            low, high = _day_bounds(since, until)
            # The lower bound is always set, above NO_DAY: a paper without a date fails it (one pass less).
            dated = days >= low
            if until is not None:
                dated &= days <= high
            passing = dated if passing is None else passing & dated
        assert passing is not None  # (for the type checker: the first check refuses neither)
        return passing

    def ids_at(self, passing: Mask) -> Ids:
        """The sorted ids of the papers ``passing`` marks."""
        positions = np.flatnonzero(passing)
        ids = np.asarray(self.ids)
        if _gapless(ids):
            # A paper's id is its row plus the first id: no gather of the mapped ids (0.8 of 3.2 ms CPU for
            # until:2016-01-01's 92,000 papers among a million, measured).
            positions += int(ids[0])
            return positions.astype(np.int64, copy=False)
        # The positions, then one take: a boolean index of the memory-mapped ids costs three times as much.
        found: Ids = ids.take(positions)
        return found

    def patched(self, passing: Mask, changed: Ids, now_passing: Ids) -> Mask:
        """``passing`` with each of the ``changed`` papers the snapshot holds marked as in ``now_passing``; a copy.

        The mask of ``apply_changes(ids_at(passing), changed, now_passing)`` (search/allowed.py)
        over these papers: those stored after ``seq`` are in neither.
        """
        passing = passing.copy()
        ids = np.asarray(self.ids)
        changed = np.asarray(changed, dtype=np.int64)
        if not len(ids) or not len(changed):
            return passing
        positions = np.minimum(np.searchsorted(ids, changed), len(ids) - 1)
        held = ids[positions] == changed
        passing[positions[held]] = np.isin(changed[held], now_passing)
        return passing

    def keep(
        self, paper_ids: Ids, since: dt.date | None, until: dt.date | None, names: Collection[str] | None = None
    ) -> Ids:
        """Those of ``paper_ids`` (sorted) published in range and filed under one of ``names`` as of ``seq``; sorted.

        The same facts as ``select``, read for the given papers only (search/nearest_first.py). A
        paper the snapshot does not hold (stored after ``seq``) passes nothing here.
        """
        if since is None and until is None and names is None:
            raise ValueError("a publication range needs since, until or both")
        if names is not None and self.categories is None:
            raise ValueError("this snapshot keeps no categories")
        ids = np.asarray(self.ids)
        wanted = np.asarray(paper_ids, dtype=np.int64)
        if not len(ids) or not len(wanted):
            return np.zeros(0, dtype=np.int64)
        if _gapless(ids):
            # A paper's row is its id less the first's, where a binary search of the mapped ids costs
            # 0.4 ms for 1,900 papers at a million.
            positions = np.clip(wanted - int(ids[0]), 0, len(ids) - 1)
        else:
            positions = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
        passing: Mask = ids[positions] == wanted
        if since is not None or until is not None:
            low, high = _day_bounds(since, until)
            days = np.asarray(self.days)[positions]
            passing &= (days >= low) & (days <= high)
        if names is not None and self.categories is not None:
            rows = np.flatnonzero(passing)
            passing[rows] = self.categories.passing_at(positions[rows], names)
        found: Ids = wanted[passing]
        return found


def _gapless(ids: Ids) -> bool:
    """Whether sorted ``ids`` run without gaps (papers are never deleted; an upsert may skip a PostgreSQL id)."""
    return bool(len(ids)) and int(ids[-1]) - int(ids[0]) == len(ids) - 1


def _day_bounds(since: dt.date | None, until: dt.date | None) -> tuple[int, int]:
    """The days from ``since`` to ``until`` (both included) as day numbers; the lower one above ``NO_DAY``.

    A paper without a date fails the lower bound, as in the database.
    """
    low = NO_DAY + 1 if since is None else max(day_number(since), NO_DAY + 1)
    high = np.iinfo(np.int32).max if until is None else min(day_number(until), np.iinfo(np.int32).max)
    return low, high


def fetch_published_days(conn: Connection) -> PublishedDays:
    """Every paper's publication day and categories as the database has them now.

    The seq is read first: a paper changed while the days or categories are read has a seq above
    it and is asked about again when they are used (``CHANGED_LIMIT``).
    """
    seq = fetch_max_seq(conn)
    ids: list[int] = []
    days: list[int] = []
    # No ORDER BY: the database may read the (published, id) index alone instead of the whole table.
    for paper_id, published in conn.execute(select(papers.c.id, papers.c.published)):
        ids.append(int(paper_id))
        days.append(NO_DAY if published is None else day_number(published))
    id_array = np.array(ids, dtype=np.int64)
    order = np.argsort(id_array, kind="stable")
    sorted_ids = id_array[order]
    rows = conn.execute(select(paper_categories.c.paper_id, paper_categories.c.category))
    categories = compose_paper_categories(sorted_ids, ((int(paper_id), str(name)) for paper_id, name in rows))
    return PublishedDays(sorted_ids, np.array(days, dtype=np.int32)[order], seq, categories)


def save_published_days(folder: Path, published: PublishedDays, save: Any) -> dict[str, int]:
    """Write the arrays into snapshot ``folder`` with ``save(path, array)``; returns what the meta records."""
    save(folder / IDS_FILE, published.ids)
    save(folder / DAYS_FILE, published.days)
    kept = {} if published.categories is None else save_paper_categories(folder, published.categories, save)
    return {SEQ_KEY: int(published.seq), **kept}


def load_published_days(folder: Path, meta: dict[str, Any]) -> PublishedDays | None:
    """The arrays of snapshot ``folder``, memory-mapped; None for a snapshot written without them.

    Categories that cannot be read leave the days in use (a warning; category filters read ids).
    """
    if SEQ_KEY not in meta or not (folder / IDS_FILE).exists():
        return None
    ids = np.load(folder / IDS_FILE, mmap_mode="r")
    days = np.load(folder / DAYS_FILE, mmap_mode="r")
    if ids.dtype != np.int64 or days.dtype != np.int32:
        raise ValueError(f"{IDS_FILE} or {DAYS_FILE} holds {ids.dtype}/{days.dtype}, expected int64/int32")
    try:
        categories = load_paper_categories(folder, meta, len(ids))
    except Exception as error:
        # Only a shortcut for category filters: the days stay usable without it.
        log.warning(
            "categories in %s cannot be read (%s: %s); category filters read ids", folder, type(error).__name__, error
        )
        categories = None
    return PublishedDays(ids, days, int(meta[SEQ_KEY]), categories)
