"""Reading and writing papers; callers get domain objects, never rows."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Row, any_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from papertide.domain.models import Paper, StoredPaper, UpsertReport
from papertide.store.categories import write_paper_categories
from papertide.store.schema import counters, papers

SEQ_COUNTER = "paper_seq"

# Fields copied between Paper and the papers table, in one place so both directions agree.
_FIELDS = (
    "arxiv_id",
    "version",
    "title",
    "abstract",
    "authors",
    "categories",
    "primary_category",
    "published",
    "updated",
    "doi",
    "journal_ref",
    "comments",
    "abs_url",
    "pdf_url",
    "code_url",
    "listed_on",
    "external_upvotes",
)


def _to_values(paper: Paper) -> dict[str, Any]:
    # Spelled out rather than looped over _FIELDS: this runs once per paper of a snapshot.
    return {
        "arxiv_id": paper.arxiv_id,
        "version": paper.version,
        "title": paper.title,
        "abstract": paper.abstract,
        "authors": list(paper.authors),
        "categories": list(paper.categories),
        "primary_category": paper.primary_category,
        "published": paper.published,
        "updated": paper.updated,
        "doi": paper.doi,
        "journal_ref": paper.journal_ref,
        "comments": paper.comments,
        "abs_url": paper.abs_url,
        "pdf_url": paper.pdf_url,
        "code_url": paper.code_url,
        "listed_on": paper.listed_on,
        "external_upvotes": paper.external_upvotes,
    }


def _text(value: Any) -> str:
    return "\x00" if value is None else str(value)


def _hash(values: dict[str, Any]) -> str:
    """sha256 of the stored fields in a fixed order: tells "unchanged" from "updated".

    Joined by hand rather than through ``json.dumps(sort_keys=True)``, which cost more than
    the insert itself at snapshot scale. List items are joined by U+001E, which normalised
    text never contains (it counts as whitespace), so items cannot run together. Keep the
    order of ``_FIELDS``.
    """
    v = values
    text = "\x1f".join(
        (
            v["arxiv_id"],
            str(v["version"]),
            v["title"],
            v["abstract"],
            "\x1e".join(v["authors"]) + "\x1e",
            "\x1e".join(v["categories"]) + "\x1e",
            _text(v["primary_category"]),
            _text(v["published"]),
            _text(v["updated"]),
            _text(v["doi"]),
            _text(v["journal_ref"]),
            _text(v["comments"]),
            _text(v["abs_url"]),
            _text(v["pdf_url"]),
            _text(v["code_url"]),
            _text(v["listed_on"]),
            str(v["external_upvotes"]),
        )
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _merge(stored: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """Combine what is stored with an incoming record of the same paper.

    Sources carry different subsets (Hugging Face has no categories, the arXiv API has no
    upvotes), so an empty incoming value never erases a stored one. Imported upvotes only
    grow: a later listing that reports fewer does not take votes away.
    """
    merged = dict(stored)
    for name, value in incoming.items():
        if value is None or value == [] or value == "":
            continue
        merged[name] = value
    merged["external_upvotes"] = max(int(stored.get("external_upvotes") or 0), int(incoming["external_upvotes"] or 0))
    if stored.get("listed_on") and incoming.get("listed_on"):
        merged["listed_on"] = min(stored["listed_on"], incoming["listed_on"])
    return merged


def _combine(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """Two records of one paper merged so that the newer version wins, the later one on a tie."""
    if (second["version"] or 1) < (first["version"] or 1):
        return _merge(second, first)
    return _merge(first, second)


def allocate_seq(conn: Connection, count: int) -> int:
    """Reserve ``count`` change-sequence numbers; returns the first of the block.

    The counter row is updated in the caller's transaction, so concurrent writers
    serialise on it and numbers are never reused.
    """
    new_value = conn.execute(
        update(counters)
        .where(counters.c.name == SEQ_COUNTER)
        .values(value=counters.c.value + count)
        .returning(counters.c.value)
    ).scalar_one_or_none()
    if new_value is None:
        conn.execute(counters.insert().values(name=SEQ_COUNTER, value=count))
        new_value = count
    return int(new_value) - count + 1


# On SQLite new rows go straight to the driver: SQLAlchemy's per-row parameter processing
# cost more than the insert at snapshot scale (bench/ingest.py). Values are written in the
# storage format SQLAlchemy's SQLite types read back: ISO dates, "YYYY-MM-DD HH:MM:SS.ffffff"
# datetimes (UTC, as everything papertide writes), JSON text for lists.
_SQLITE_INSERT = (
    f"INSERT INTO papers ({', '.join((*_FIELDS, 'content_hash', 'seq', 'created_at', 'changed_at'))}, "
    f"community_upvotes) VALUES ({', '.join('?' for _ in range(len(_FIELDS) + 4))}, 0)"
)


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _sqlite_rows(inserts: list[dict[str, Any]], now: dt.datetime) -> list[tuple[Any, ...]]:
    stamp = (now.astimezone(dt.UTC) if now.tzinfo else now).strftime("%Y-%m-%d %H:%M:%S.%f")
    return [
        (
            v["arxiv_id"],
            v["version"],
            v["title"],
            v["abstract"],
            json.dumps(v["authors"]),
            json.dumps(v["categories"]),
            v["primary_category"],
            _iso(v["published"]),
            _iso(v["updated"]),
            v["doi"],
            v["journal_ref"],
            v["comments"],
            v["abs_url"],
            v["pdf_url"],
            v["code_url"],
            _iso(v["listed_on"]),
            v["external_upvotes"],
            v["content_hash"],
            v["seq"],
            stamp,
            stamp,
        )
        for v in inserts
    ]


def _insert_new(conn: Connection, inserts: list[dict[str, Any]], first_seq: int, now: dt.datetime) -> list[int]:
    """Insert rows that took seq numbers from ``first_seq`` on; returns their ids in the order of ``inserts``."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(_SQLITE_INSERT, _sqlite_rows(inserts, now))
    else:
        for values in inserts:
            values["created_at"] = values["changed_at"] = now
            values["community_upvotes"] = 0
        conn.execute(papers.insert(), inserts)
    last_seq = first_seq + len(inserts) - 1
    rows = conn.execute(select(papers.c.id, papers.c.seq).where(papers.c.seq >= first_seq, papers.c.seq <= last_seq))
    return [int(row.id) for row in sorted(rows, key=lambda row: int(row.seq))]


def upsert_papers(conn: Connection, batch: Sequence[Paper], now: dt.datetime) -> UpsertReport:
    """Insert new papers and update changed ones in the caller's transaction.

    The category rows of every new or changed paper (store/categories.py) are written in the
    same transaction. Idempotent: the same records twice change nothing. The newest version wins whatever the
    order, within the batch and against what is stored (issue 9): a record of an older version
    only fills fields the newer one left empty and adds its upvotes and listing date (see
    ``_merge``); of two records of the same version, the later one wins.
    """
    incoming: dict[str, dict[str, Any]] = {}
    for paper in batch:
        values = _to_values(paper)
        earlier = incoming.get(paper.arxiv_id)
        incoming[paper.arxiv_id] = _combine(earlier, values) if earlier else values
    if not incoming:
        return UpsertReport()
    columns = [papers.c.id, papers.c.content_hash, *(papers.c[name] for name in _FIELDS)]
    stored: dict[str, dict[str, Any]] = {}
    ids = list(incoming)
    for start in range(0, len(ids), 500):
        rows = conn.execute(select(*columns).where(papers.c.arxiv_id.in_(ids[start : start + 500])))
        for row in rows:
            stored[row.arxiv_id] = dict(row._mapping)

    inserts: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    unchanged = 0
    for arxiv_id, values in incoming.items():
        old = stored.get(arxiv_id)
        if old is None:
            inserts.append(values)
            continue
        merged = _combine({k: old[k] for k in _FIELDS}, values)
        content_hash = _hash(merged)
        if content_hash == old["content_hash"]:
            unchanged += 1
            continue
        merged["content_hash"] = content_hash
        merged["_id"] = old["id"]
        changes.append(merged)

    total = len(inserts) + len(changes)
    changed_ids: list[int] = []
    if total:
        first_seq = seq = allocate_seq(conn, total)
        for values in inserts:
            values["content_hash"] = _hash(values)
            values["seq"] = seq
            seq += 1
        if inserts:
            new_ids = _insert_new(conn, inserts, first_seq, now)
            changed_ids.extend(new_ids)
            write_paper_categories(
                conn,
                [(paper_id, v["categories"], v["published"]) for paper_id, v in zip(new_ids, inserts, strict=True)],
                replace=False,
            )
        for values in changes:
            values["seq"] = seq
            values["changed_at"] = now
            seq += 1
        if changes:
            statement = (
                update(papers)
                .where(papers.c.id == bindparam("_id"))
                .values(
                    {
                        name: bindparam(name)
                        for name in (*_FIELDS, "content_hash", "seq", "changed_at")
                        if name != "arxiv_id"
                    }
                )
            )
            conn.execute(statement, changes)
            changed_ids.extend(values["_id"] for values in changes)
            write_paper_categories(
                conn, [(v["_id"], v["categories"] or (), v["published"]) for v in changes], replace=True
            )
    return UpsertReport(new=len(inserts), updated=len(changes), unchanged=unchanged, changed_ids=tuple(changed_ids))


def _to_paper(row: Row[Any]) -> StoredPaper:
    mapping = row._mapping
    paper = Paper(
        arxiv_id=mapping["arxiv_id"],
        version=mapping["version"],
        title=mapping["title"],
        abstract=mapping["abstract"],
        authors=tuple(mapping["authors"] or ()),
        categories=tuple(mapping["categories"] or ()),
        primary_category=mapping["primary_category"],
        published=mapping["published"],
        updated=mapping["updated"],
        doi=mapping["doi"],
        journal_ref=mapping["journal_ref"],
        comments=mapping["comments"],
        abs_url=mapping["abs_url"],
        pdf_url=mapping["pdf_url"],
        code_url=mapping["code_url"],
        listed_on=mapping["listed_on"],
        external_upvotes=mapping["external_upvotes"],
    )
    return StoredPaper(
        id=mapping["id"],
        paper=paper,
        community_upvotes=mapping["community_upvotes"],
        created_at=mapping["created_at"],
        changed_at=mapping["changed_at"],
    )


# Built once: every page of search results reads its papers (issue 13), and building the statement
# (the IN list's coercion, its cache key) cost more than SQLite running it. PostgreSQL takes the ids
# as one array parameter (one statement text whatever their number, store/any_of.py).
_PAPERS_BY_IDS = select(papers).where(papers.c.id.in_(bindparam("ids", expanding=True)))
_PAPERS_BY_ID_ARRAY = select(papers).where(papers.c.id == any_(bindparam("ids", type_=ARRAY(papers.c.id.type))))


def get_papers(conn: Connection, ids: Iterable[int]) -> list[StoredPaper]:
    """Papers by internal id, in the order asked for; unknown ids are left out."""
    wanted = list(ids)
    if not wanted:
        return []
    found: dict[int, StoredPaper] = {}
    statement = _PAPERS_BY_ID_ARRAY if conn.dialect.name == "postgresql" else _PAPERS_BY_IDS
    for start in range(0, len(wanted), 500):
        rows = conn.execute(statement, {"ids": wanted[start : start + 500]})
        for row in rows:
            stored = _to_paper(row)
            found[stored.id] = stored
    return [found[i] for i in wanted if i in found]


def get_paper_by_arxiv_id(conn: Connection, arxiv_id: str) -> StoredPaper | None:
    """One paper by its arXiv id without version, or None."""
    row = conn.execute(select(papers).where(papers.c.arxiv_id == arxiv_id)).first()
    return _to_paper(row) if row else None


def count_papers(conn: Connection) -> int:
    """How many papers are stored."""
    return int(conn.execute(select(func.count()).select_from(papers)).scalar_one())
