"""Community benchmark: trending now, period lists and vote writes on a year of papers (issue 5).

Stores ``--papers`` synthetic papers listed over the 365 days before a fixed "now" (arXiv's
pace is about 24,000 a month) with heavy-tailed imported upvotes, in a fresh SQLite file or in
the database named by ``--url``, then times the reads a page does and the writes a vote does.

    .venv/bin/python -m bench.trending                  # 300,000 papers, SQLite
    .venv/bin/python -m bench.trending --papers 50000 --url postgresql+psycopg://...
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, select

from bench.timing import time_calls
from papertide.domain.models import Paper
from papertide.domain.periods import period_containing
from papertide.store.accounts import create_login_token, write_login
from papertide.store.engine import begin_write, make_engine
from papertide.store.listings import read_period_list
from papertide.store.migrate import upgrade_database
from papertide.store.papers import upsert_papers
from papertide.store.ratelimits import RateRule, take_rate_slots
from papertide.store.schema import papers
from papertide.store.trending import read_trending_now
from papertide.store.votes import write_vote

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


def _store(engine: Engine, count: int, rng: random.Random) -> float:
    started = time.perf_counter()
    batch: list[Paper] = []
    for number in range(count):
        listed = TODAY - dt.timedelta(days=rng.randrange(365))
        batch.append(
            Paper(
                arxiv_id=f"{listed:%y%m}.{number:06d}",
                title=f"Paper {number}",
                abstract="An abstract.",
                published=listed - dt.timedelta(days=rng.randrange(3)),
                listed_on=listed if rng.random() < 0.3 else None,
                external_upvotes=int(rng.paretovariate(1.3)) - 1,
            )
        )
        if len(batch) == 5000 or number == count - 1:
            with begin_write(engine) as conn:
                upsert_papers(conn, batch, NOW)
            batch = []
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--url", default="", help="database URL (default: a temporary SQLite file)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = options.url or f"sqlite:///{Path(folder) / 'bench.db'}"
        engine = make_engine(url)
        upgrade_database(engine)
        seconds = _store(engine, options.papers, random.Random(5))
        rows: list[tuple[str, float, float]] = []
        with engine.connect() as conn:

            def trending() -> object:
                return read_trending_now(
                    conn, now=NOW, zone=dt.UTC, window_days=7, gravity=1.8, offset_hours=2.0, limit=30
                )

            candidates = trending().total  # type: ignore[attr-defined]
            now_ms = time_calls(trending, options.runs)
            rows.append((f"trending now, 7-day window ({candidates:,} candidates)", *now_ms))
            for kind in ("day", "week", "month"):
                period = period_containing(kind, TODAY - dt.timedelta(days=3))  # type: ignore[arg-type]
                total = read_period_list(conn, period, limit=30).total
                rows.append(
                    (
                        f"{kind} list, first page of 30 ({total:,} papers)",
                        *time_calls(lambda period=period: read_period_list(conn, period, limit=30), options.runs),
                    )
                )
            ids = list(conn.execute(select(papers.c.id).limit(options.runs * 2)).scalars())
        with begin_write(engine) as conn:
            user = write_login(conn, "bench@example.org", NOW)
        votes = iter(ids)
        window = dt.timedelta(minutes=10)

        def vote() -> None:
            with begin_write(engine) as conn:
                take_rate_slots(conn, [RateRule(f"vote:user:{user.id}", 10**9, window)], NOW)
                write_vote(conn, user_id=user.id, paper_id=next(votes), wanted=True, now=NOW)

        rows.append(("vote: rate slot + vote + count, one transaction", *time_calls(vote, options.runs)))

        def signin() -> None:
            with begin_write(engine) as conn:
                take_rate_slots(conn, [RateRule("signin:address:bench@example.org", 10**9, window)], NOW)
                create_login_token(conn, "bench@example.org", now=NOW, lifetime=dt.timedelta(minutes=15))

        rows.append(("sign-in link: rate slots + token, one transaction", *time_calls(signin, options.runs)))
        engine.dispose()
    backend = url.split(":", 1)[0]
    print(f"{options.papers:,} papers stored in {seconds:.1f} s ({options.papers / seconds:,.0f}/s) on {backend}")
    print("| operation | p50 ms | p95 ms |\n|---|---:|---:|")
    for name, p50, p95 in rows:
        print(f"| {name} | {p50:.2f} | {p95:.2f} |")


if __name__ == "__main__":
    main()
