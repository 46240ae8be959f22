"""Every paper's categories, kept beside the vector snapshot, so a category filter's first use reads no ids (issue 13).

The first use of cat:cs.LG at a million papers went nearest first (search/nearest_first.py) or
read 587,000 ids from the database: 1.8 to 2.3 times plain hybrid's p95, and 2.8 to 3.3 times
with a date added. The snapshot writer now also writes, in the order of days.py's sorted paper
ids, each paper's categories as ``paper_categories`` holds them (the names the database's
filter matches, store/filtered_ids.py): the distinct names once (``NAMES_FILE``), and for every
paper the codes of its names (``CODES_FILE``, int16 while there are fewer than 32,768 names)
from ``OFFSETS_FILE[i]`` to ``OFFSETS_FILE[i + 1]`` (a CSR row per paper; a paper without a
category has an empty one). Which stored names a ``cat:`` term matches is the caller's (search/
database_filter.py ``select_stored_categories``, the database's own rule): given those names,
the papers passing are one gather and one running sum over the codes. Papers changed since the
days' seq are patched from the database as for dates (search/allowed_ids.py).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Ids = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]
NAMES_FILE = "category_names.npy"
OFFSETS_FILE = "category_offsets.npy"
CODES_FILE = "category_codes.npy"
# In the meta: how many names the snapshot's categories hold (absent: written without them).
NAMES_KEY = "category_names"
# Up to this many wanted names are found by comparing codes, more through a lookup table.
EQUALITY_CODES = 8


@dataclass(frozen=True, slots=True)
class PaperCategories:
    """Each paper's stored category names as codes into ``names``: paper ``i``'s from ``offsets[i]`` to ``[i + 1]``."""

    names: tuple[str, ...]
    offsets: Ids
    codes: npt.NDArray[np.integer[Any]]

    def __post_init__(self) -> None:
        offsets, codes = self.offsets, self.codes
        if offsets.ndim != 1 or len(offsets) == 0 or int(offsets[0]) != 0 or int(offsets[-1]) != len(codes):
            raise ValueError(f"category offsets do not span the {len(codes)} category codes")
        if len(offsets) > 1 and bool(np.any(np.diff(offsets) < 0)):
            raise ValueError("category offsets are not ascending")
        if len(codes) and (int(codes.min()) < 0 or int(codes.max()) >= len(self.names)):
            raise ValueError(f"a category code is outside the {len(self.names)} names")

    @property
    def papers(self) -> int:
        """How many papers (CSR rows) there are."""
        return len(self.offsets) - 1

    def passing_at(self, positions: Ids, names: Collection[str]) -> Mask:
        """For the papers at ``positions`` (rows) only, whether one of their stored category names is among ``names``.

        A broad filter's nearest papers are checked here (search/nearest_first.py): a gather of
        their few codes, not a pass over every paper's as ``passing`` makes.
        """
        offsets = np.asarray(self.offsets)
        starts, stops = offsets[positions], offsets[positions + 1]
        lengths = stops - starts
        # Each wanted code's position in ``codes``: its row's start plus its place in the row.
        row_of = np.repeat(np.arange(len(positions)), lengths)
        ends = np.cumsum(lengths)
        places = np.arange(int(ends[-1]) if len(ends) else 0) - np.repeat(ends - lengths - starts, lengths)
        wanted = np.array([code for code, name in enumerate(self.names) if name in names], dtype=np.int64)
        hit = np.isin(np.asarray(self.codes)[places], wanted)
        passing: Mask = np.bincount(row_of[hit], minlength=len(positions)) > 0
        return passing

    def passing(self, names: Collection[str]) -> Mask:
        """Per paper, whether one of its stored category names is among ``names``."""
        wanted = [code for code, name in enumerate(self.names) if name in names]
        codes = np.asarray(self.codes)
        if len(wanted) <= EQUALITY_CODES:
            # A comparison per wanted code reads the int16 codes as they are (0.1 ms at 1.8 M codes);
            # a lookup table first widens every code to an index (4 ms).
            hit = np.zeros(len(codes), dtype=bool)
            for code in wanted:
                hit |= codes == code
        else:
            table = np.zeros(len(self.names), dtype=bool)
            table[wanted] = True
            hit = table[codes]
        # A running count of matching codes: a paper passes when its row's count grows.
        counts: npt.NDArray[np.signedinteger[Any]] = np.zeros(
            len(codes) + 1, dtype=np.int32 if len(codes) < np.iinfo(np.int32).max else np.int64
        )
        np.cumsum(hit, out=counts[1:])
        offsets = np.asarray(self.offsets)
        passing: Mask = counts[offsets[1:]] > counts[offsets[:-1]]
        return passing


def compose_paper_categories(ids: Ids, rows: Iterable[tuple[int, str]]) -> PaperCategories:
    """The categories of the papers ``ids`` (sorted) from (paper id, stored name) ``rows``.

    A row of a paper not among ``ids`` (stored after they were read) is left out: it changed
    after the seq they were read at, so its papers are asked of the database when used.
    """
    codes_of: dict[str, int] = {}
    paper_of: list[int] = []
    code_list: list[int] = []
    for paper_id, name in rows:
        paper_of.append(int(paper_id))
        code_list.append(codes_of.setdefault(str(name), len(codes_of)))
    dtype = np.int16 if len(codes_of) <= np.iinfo(np.int16).max else np.int32
    papers = np.array(paper_of, dtype=np.int64)
    codes: npt.NDArray[np.integer[Any]] = np.array(code_list, dtype=dtype)
    positions = np.searchsorted(ids, papers)
    known = positions < len(ids)
    known[known] = ids[positions[known]] == papers[known]
    positions, codes = positions[known], codes[known]
    order = np.lexsort((codes, positions))
    counts = np.bincount(positions, minlength=len(ids)) if len(ids) else np.zeros(0, dtype=np.int64)
    offsets = np.zeros(len(ids) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return PaperCategories(tuple(codes_of), offsets, codes[order])


def save_paper_categories(folder: Path, categories: PaperCategories, save: Any) -> dict[str, int]:
    """Write the arrays into snapshot ``folder`` with ``save(path, array)``; returns what the meta records."""
    save(folder / NAMES_FILE, np.array(categories.names, dtype=str))
    save(folder / OFFSETS_FILE, categories.offsets)
    save(folder / CODES_FILE, categories.codes)
    return {NAMES_KEY: len(categories.names)}


def load_paper_categories(folder: Path, meta: dict[str, Any], papers: int) -> PaperCategories | None:
    """The categories of snapshot ``folder`` (offsets and codes memory-mapped); None when written without them."""
    if NAMES_KEY not in meta:
        return None
    names = np.load(folder / NAMES_FILE, allow_pickle=False)
    offsets = np.load(folder / OFFSETS_FILE, mmap_mode="r")
    codes = np.load(folder / CODES_FILE, mmap_mode="r")
    if names.ndim != 1 or (len(names) and names.dtype.kind != "U") or len(names) != int(meta[NAMES_KEY]):
        raise ValueError(f"{NAMES_FILE} holds {names.dtype} {names.shape}, expected {meta[NAMES_KEY]} names")
    if offsets.dtype != np.int64 or codes.dtype not in (np.int16, np.int32):
        raise ValueError(f"{OFFSETS_FILE} or {CODES_FILE} holds {offsets.dtype}/{codes.dtype}, expected int64/int16")
    if len(offsets) != papers + 1:
        raise ValueError(f"{OFFSETS_FILE} holds {len(offsets)} offsets for {papers} papers")
    return PaperCategories(tuple(str(name) for name in names), offsets, codes)
