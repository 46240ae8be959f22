"""Database disk per paper (issue 14): PostgreSQL and SQLite holding papertide's schema, extrapolated per million.

Stores a synthetic corpus with one 384-dimensional vector per paper through papertide's own
write paths (bench/search_corpus.py: the upserts of ingestion, the writes of the semantic
indexer) into a freshly migrated database, then reads what it takes on disk:

- PostgreSQL (an embedded server, as the tests start one): per table ``pg_table_size`` (heap,
  TOAST, free-space and visibility maps) and ``pg_indexes_size``, after a ``CHECKPOINT`` and
  ``VACUUM (ANALYZE)`` as autovacuum would leave them, and ``pg_database_size``;
- SQLite: the database file after a ``wal_checkpoint(TRUNCATE)`` (WAL folded in), per table and
  index from the ``dbstat`` table where the library has it.

The same is read right after migrating (the empty schema), and the difference divided by the
number of papers is the cost of one paper; a million papers cost a million times that. Every
stored row per paper (the paper, its vector, authors, categories, the change-sequence and
day indexes) grows linearly with the papers, and B-tree depth adds under 1% between 20,000
and a million rows, so the extrapolation is linear. The synthetic abstracts are 120-260 words,
about the length of arXiv's.

    .venv/bin/python -m bench.disk                       # 20,000 papers, both databases
    .venv/bin/python -m bench.disk --papers 5000 --database sqlite
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, text

from bench.databases import scratch_database
from bench.search_corpus import Vocabulary, store_papers, store_vectors
from papertide.search.semantic.model import DEFAULT_MODEL, resolve_model
from papertide.store.engine import make_engine
from papertide.store.migrate import upgrade_database

Sizes = dict[str, tuple[int, int]]  # table -> (table bytes, index bytes)

POSTGRES_SIZES = text(
    """
    SELECT c.relname, pg_table_size(c.oid), pg_indexes_size(c.oid)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND n.nspname = current_schema()
    """
)


def read_postgres(engine: Engine) -> tuple[Sizes, int]:
    """Per table (table bytes, index bytes), and the whole database's size."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
        conn.execute(text("CHECKPOINT"))
        sizes = {str(name): (int(table), int(index)) for name, table, index in conn.execute(POSTGRES_SIZES)}
        database = int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
    return sizes, database


def read_sqlite(path: Path) -> tuple[Sizes, int]:
    """Per table (table bytes, index bytes) from ``dbstat`` when available, and the file's size."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        sizes: Sizes = {}
        try:
            rows = conn.execute(
                "SELECT s.name, m.type, m.tbl_name, SUM(s.pgsize) FROM dbstat s "
                "JOIN sqlite_master m ON m.name = s.name GROUP BY s.name"
            ).fetchall()
        except sqlite3.OperationalError:  # built without SQLITE_ENABLE_DBSTAT_VTAB
            rows = []
        for _name, kind, table, size in rows:
            data, index = sizes.get(table, (0, 0))
            sizes[table] = (data + int(size), index) if kind == "table" else (data, index + int(size))
    return sizes, path.stat().st_size


def measure(kind: str, papers: int, workdir: Path) -> tuple[Sizes, int, Sizes, int, float]:
    """(sizes and total of the empty schema, sizes and total with the corpus, seconds to store it)."""
    with scratch_database(kind, workdir / "papertide.db", workdir) as url:
        engine = make_engine(url)
        upgrade_database(engine)

        def read() -> tuple[Sizes, int]:
            if kind == "sqlite":
                return read_sqlite(workdir / "papertide.db")
            return read_postgres(engine)

        empty, empty_total = read()
        started = time.perf_counter()
        store_papers(engine, Vocabulary(), papers, lambda n: None)
        store_vectors(engine, resolve_model(DEFAULT_MODEL).name, lambda n: None)
        seconds = time.perf_counter() - started
        full, full_total = read()
        engine.dispose()
    return empty, empty_total, full, full_total, seconds


def print_report(kind: str, papers: int, empty: Sizes, empty_total: int, full: Sizes, full_total: int) -> None:
    """Per table: bytes per paper and GB per million papers (less the empty schema)."""
    print(f"\n{kind}, {papers:,} papers")
    print("| table | table B/paper | indexes B/paper | GB per 1 M papers |")
    print("|---|---:|---:|---:|")
    grown = {
        name: (table - empty.get(name, (0, 0))[0], index - empty.get(name, (0, 0))[1])
        for name, (table, index) in full.items()
    }
    for name, (table, index) in sorted(grown.items(), key=lambda item: -sum(item[1])):
        if table + index > 0:
            print(f"| {name} | {table / papers:,.0f} | {index / papers:,.0f} | {(table + index) / papers / 1e3:.2f} |")
    per_paper = (full_total - empty_total) / papers
    what = "database" if kind == "postgresql" else "file"
    print(f"| **whole {what}** | | | **{per_paper / 1e3:.2f}** ({per_paper:,.0f} B/paper) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--papers", type=int, default=20_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for kind in kinds:
        with tempfile.TemporaryDirectory(prefix=f"papertide-bench-disk-{kind}-") as folder:
            empty, empty_total, full, full_total, seconds = measure(kind, args.papers, Path(folder))
        print(f"{kind}: stored {args.papers:,} papers and vectors in {seconds:.0f} s", flush=True)
        print_report(kind, args.papers, empty, empty_total, full, full_total)


if __name__ == "__main__":
    main()
