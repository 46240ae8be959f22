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

That pass over every code cost 17.6 ms CPU for cat:cs.LG at a million papers (1.8 M codes), so
the writer also keeps one packed bit set per name (``BITS_FILE``: row ``c`` holds bit ``i``, in
little bit order, for paper row ``i`` filed under name ``c``; ``ceil(papers / 8)`` bytes a
name, 125 KB at a million papers; arXiv has about 155 category names, so at most ~19 MB per
million papers, memory-mapped). A filter's papers are then an OR of its names' rows and one
unpacking. A snapshot written with the codes but without the bits (or whose bits cannot be
read: a warning) answers from the codes as before, with the same result.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

Ids = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]
Bits = npt.NDArray[np.uint8]
NAMES_FILE = "category_names.npy"
OFFSETS_FILE = "category_offsets.npy"
CODES_FILE = "category_codes.npy"
BITS_FILE = "category_bits.npy"
# In the meta: how many names the snapshot's categories hold (absent: written without them).
NAMES_KEY = "category_names"
# In the meta: how many papers the packed bit sets cover (absent: written without them).
BITS_KEY = "category_bits_papers"
# Up to this many wanted names are found by comparing codes, more through a lookup table.
EQUALITY_CODES = 8


@dataclass(frozen=True, slots=True)
class PaperCategories:
    """Each paper's stored category names as codes into ``names``: paper ``i``'s from ``offsets[i]`` to ``[i + 1]``."""

    names: tuple[str, ...]
    offsets: Ids
    codes: npt.NDArray[np.integer[Any]]
    # One packed row per name (``pack_category_bits``); None: the codes alone answer.
    bits: Bits | None = None

    def __post_init__(self) -> None:
        offsets, codes = self.offsets, self.codes
        if offsets.ndim != 1 or len(offsets) == 0 or int(offsets[0]) != 0 or int(offsets[-1]) != len(codes):
            raise ValueError(f"category offsets do not span the {len(codes)} category codes")
        if len(offsets) > 1 and bool(np.any(np.diff(offsets) < 0)):
            raise ValueError("category offsets are not ascending")
        if len(codes) and (int(codes.min()) < 0 or int(codes.max()) >= len(self.names)):
            raise ValueError(f"a category code is outside the {len(self.names)} names")
        expected = (len(self.names), packed_width(len(offsets) - 1))
        if self.bits is not None and (self.bits.dtype != np.uint8 or self.bits.shape != expected):
            raise ValueError(f"category bits hold {self.bits.dtype} {self.bits.shape}, expected uint8 {expected}")

    def with_bits(self) -> PaperCategories:
        """The same categories with their packed bit sets (computed from the codes)."""
        return replace(self, bits=pack_category_bits(len(self.names), self.offsets, self.codes))

    @property
    def papers(self) -> int:
        """How many papers (CSR rows) there are."""
        return len(self.offsets) - 1

    def passing_at(self, positions: Ids, names: Collection[str]) -> Mask:
        """For the papers at ``positions`` (rows) only, whether one of their stored category names is among ``names``.

        A broad filter's nearest papers are checked here (search/nearest_first.py): a gather of
        their few codes, not a pass over every paper's as ``passing`` makes. With the bit sets, a
        gather of one byte per paper and wanted name: 0.03 ms for 2,000 papers under one name at a
        million papers, 0.26 ms through the codes.
        """
        if self.bits is not None:
            return self._passing_at_in_bits(positions, names)
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
        if self.bits is not None:
            return self._passing_in_bits(wanted)
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

    def _passing_at_in_bits(self, positions: Ids, names: Collection[str]) -> Mask:
        """``passing_at`` from the packed rows: each wanted name's byte of each paper, OR-ed, then the paper's bit."""
        assert self.bits is not None
        positions = np.asarray(positions, dtype=np.int64)
        places = positions >> 3
        gathered = np.zeros(len(positions), dtype=np.uint8)
        for code in (code for code, name in enumerate(self.names) if name in names):
            gathered |= self.bits[code][places]
        passing: Mask = ((gathered >> (positions & 7).astype(np.uint8)) & 1).astype(bool)
        return passing

    def _passing_in_bits(self, wanted: list[int]) -> Mask:
        """``passing`` from the packed rows: their OR, unpacked once (under 1 ms at a million papers)."""
        assert self.bits is not None
        if not wanted:
            return np.zeros(self.papers, dtype=bool)
        packed = np.array(self.bits[wanted[0]])
        for code in wanted[1:]:
            np.bitwise_or(packed, self.bits[code], out=packed)
        passing: Mask = np.unpackbits(packed, count=self.papers, bitorder="little").view(np.bool_)
        return passing


def packed_width(papers: int) -> int:
    """The bytes of one name's packed bit set for ``papers`` papers."""
    return (papers + 7) // 8


def pack_category_bits(names: int, offsets: Ids, codes: npt.NDArray[np.integer[Any]]) -> Bits:
    """One packed bit set per name code, little bit order: row ``c``'s bit ``i`` is set when paper row ``i`` has it."""
    offsets, codes = np.asarray(offsets), np.asarray(codes)
    papers = len(offsets) - 1
    rows = np.repeat(np.arange(papers, dtype=np.int64), np.diff(offsets))
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(names + 1))
    bits: Bits = np.zeros((names, packed_width(papers)), dtype=np.uint8)
    for code in range(names):
        mask = np.zeros(papers, dtype=bool)
        mask[rows[order[bounds[code] : bounds[code + 1]]]] = True
        bits[code] = np.packbits(mask, bitorder="little")
    return bits


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
    return PaperCategories(tuple(codes_of), offsets, codes[order]).with_bits()


def save_paper_categories(folder: Path, categories: PaperCategories, save: Any) -> dict[str, int]:
    """Write the arrays into snapshot ``folder`` with ``save(path, array)``; returns what the meta records."""
    save(folder / NAMES_FILE, np.array(categories.names, dtype=str))
    save(folder / OFFSETS_FILE, categories.offsets)
    save(folder / CODES_FILE, categories.codes)
    return {NAMES_KEY: len(categories.names), **save_category_bits(folder, categories, save)}


def save_category_bits(folder: Path, categories: PaperCategories, save: Any) -> dict[str, int]:
    """Write the packed bit sets (when computed) into snapshot ``folder``; returns what the meta records.

    Also how a snapshot written before the bits gets them: ``load_paper_categories``, ``with_bits``, this.
    """
    if categories.bits is None:
        return {}
    save(folder / BITS_FILE, categories.bits)
    return {BITS_KEY: categories.papers}


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
    categories = PaperCategories(tuple(str(name) for name in names), offsets, codes)
    try:
        bits = _load_bits(folder, meta, len(categories.names), papers)
        return categories if bits is None else replace(categories, bits=bits)
    except Exception as error:
        # Only a shortcut: the codes give the same answers.
        log.warning(
            "category bits in %s cannot be read (%s: %s); categories are read from their codes",
            folder,
            type(error).__name__,
            error,
        )
        return categories


def _load_bits(folder: Path, meta: dict[str, Any], names: int, papers: int) -> Bits | None:
    """The packed bit sets of snapshot ``folder``, memory-mapped; None when written without them."""
    if BITS_KEY not in meta:
        return None
    if int(meta[BITS_KEY]) != papers:
        raise ValueError(f"the meta's {BITS_KEY} is {meta[BITS_KEY]}, for {papers} papers")
    bits = np.load(folder / BITS_FILE, mmap_mode="r")
    if bits.dtype != np.uint8 or bits.shape != (names, packed_width(papers)):
        expected = (names, packed_width(papers))
        raise ValueError(f"{BITS_FILE} holds {bits.dtype} {bits.shape}, expected uint8 {expected}")
    return bits  # type: ignore[no-any-return]
