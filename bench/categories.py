"""Category pages benchmark: ``/categories/<cat>`` reads beside one primary-key read (issue 13).

Stores ``--papers`` synthetic papers whose categories follow arXiv's skew (cs.LG on about 58 %
of them as in the 1 M-paper snapshot, q-bio.NC on about 3 %, a rare one on 0.1 %), in a fresh
SQLite file or in the database named by ``--url``, then times what one category page does (the
bounded count, the ids of one page of 30, the papers of those ids) for a broad, a narrow and a
rare category, a deep page, and, as the building block, the 30 papers of a page read by primary key
(what every list page pays; one paper by primary key beside it).

    .venv/bin/python -m bench.categories                    # 1,000,000 papers, SQLite
    .venv/bin/python -m bench.categories --papers 100000 --url postgresql+psycopg://...
    .venv/bin/python -m bench.categories --url sqlite:///DIR/papertide.db --reuse   # a kept bench.search corpus
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import Connection, Engine, func, select

from bench.timing import time_calls
from papertide.domain.models import Paper
from papertide.store.categories import count_category_papers, list_category_paper_ids
from papertide.store.engine import begin_write, make_engine
from papertide.store.migrate import upgrade_database
from papertide.store.papers import get_papers, upsert_papers
from papertide.store.schema import paper_categories, papers

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
PAGE = 30
# (category, share of papers): broad, narrow, rare, and filler so most papers have two or three.
SHARES = (("cs.LG", 0.58), ("q-bio.NC", 0.03), ("math.HO", 0.001), ("stat.ML", 0.3), ("cs.AI", 0.4))


def _store(engine: Engine, count: int, rng: random.Random) -> float:
    started = time.perf_counter()
    batch: list[Paper] = []
    first = dt.date(2007, 1, 1)
    for number in range(count):
        categories = tuple(name for name, share in SHARES if rng.random() < share) or ("math.CO",)
        batch.append(
            Paper(
                arxiv_id=f"bench.{number:07d}",
                title=f"Paper {number}",
                abstract="An abstract.",
                categories=categories,
                primary_category=categories[0],
                published=first + dt.timedelta(days=rng.randrange(7000)),
            )
        )
        if len(batch) == 5000 or number == count - 1:
            with begin_write(engine) as conn:
                upsert_papers(conn, batch, NOW)
            batch = []
    return time.perf_counter() - started


def _page(conn: Connection, category: str, page: int) -> object:
    """What routes/categories.py reads for one page: bounded count, one page of ids (+1), those papers."""
    count_category_papers(conn, category)
    ids = list_category_paper_ids(conn, category, limit=PAGE + 1, offset=(page - 1) * PAGE)
    return get_papers(conn, ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--url", default="", help="database URL (default: a temporary SQLite file)")
    parser.add_argument(
        "--reuse", action="store_true", help="with --url: time the papers already stored there (nothing written)"
    )
    options = parser.parse_args()
    if options.reuse and not options.url:
        parser.error("--reuse needs --url (the database of an earlier run, e.g. bench.search --keep DIR)")
    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        url = options.url or f"sqlite:///{Path(folder) / 'bench.db'}"
        engine = make_engine(url)
        upgrade_database(engine)
        seconds = 0.0 if options.reuse else _store(engine, options.papers, random.Random(13))
        with engine.connect() as conn:
            middle = int(conn.execute(select(func.max(papers.c.id))).scalar_one()) // 2
            thirty = list(range(middle, middle + PAGE))
            rows.append(
                (
                    "building block: 30 papers by primary key",
                    *time_calls(lambda: get_papers(conn, thirty), options.runs),
                )
            )
            rows.append(("one paper by primary key", *time_calls(lambda: get_papers(conn, [middle]), options.runs)))
            for category in ("cs.LG", "q-bio.NC"):
                rows.append(
                    (
                        f"{category} bounded count + ids of page 1 (no papers read)",
                        *time_calls(
                            lambda category=category: (  # type: ignore[misc]
                                count_category_papers(conn, category),
                                list_category_paper_ids(conn, category, limit=PAGE + 1),
                            ),
                            options.runs,
                        ),
                    )
                )
            for category, _share in SHARES[:3]:
                size = int(
                    conn.execute(
                        select(func.count())
                        .select_from(paper_categories)
                        .where(paper_categories.c.category == category)
                    ).scalar_one()
                )
                rows.append(
                    (
                        f"{category} page 1 ({size:,} papers): count + ids + 30 papers",
                        *time_calls(lambda category=category: _page(conn, category, 1), options.runs),  # type: ignore[misc]
                    )
                )
            deep = time_calls(lambda: _page(conn, "cs.LG", 1000), options.runs)
            rows.append(("cs.LG page 1,000 (offset 29,970)", *deep))
            rows.append(
                (
                    "cs.LG exact count(*) on the index (what a page would pay without the bound)",
                    *time_calls(
                        lambda: conn.execute(
                            select(func.count())
                            .select_from(paper_categories)
                            .where(paper_categories.c.category == "cs.LG")
                        ).scalar_one(),
                        max(5, options.runs // 10),
                    ),
                )
            )
        engine.dispose()
    backend = url.split(":", 1)[0]
    if options.reuse:
        print(f"papers already stored in {backend} (--reuse)")
    else:
        print(f"{options.papers:,} papers stored in {seconds:.1f} s ({options.papers / seconds:,.0f}/s) on {backend}")
    block_p50, block_p95 = rows[0][1], rows[0][2]
    print("| operation | p50 ms | p95 ms | p50 / block | p95 / block |\n|---|---:|---:|---:|---:|")
    for name, p50, p95 in rows:
        print(f"| {name} | {p50:.2f} | {p95:.2f} | {p50 / block_p50:.2f}x | {p95 / block_p95:.2f}x |")


if __name__ == "__main__":
    main()
