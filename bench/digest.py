"""Digest benchmark: one `run_digest` to N confirmed subscribers through a real SMTP server (issue 6).

Builds a fresh SQLite database with 3,000 papers listed over the last two weeks (a few
hundred of them upvoted) and N confirmed subscribers with varied time zones, hours, sizes
and topics (none, arXiv categories, authors, free-text topics), all due at the run's
instant. A local aiosmtpd server in its own process counts what it accepts. The run is the
product's code path (plan -> compose -> SMTP -> record after the server's 250), measured
from this process; setup happens in a child process so peak memory is the run's own.

Free-text topics are matched by a word-overlap matcher over titles here, so the figures
are the digest's, not the search engine's (bench/search.py measures that).

    .venv/bin/python -m bench.digest                       # 100,000 subscribers
    .venv/bin/python -m bench.digest --subscribers 10000
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import random
import resource
import tempfile
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from papertide.digest.compose import MailComposer, MailSite
from papertide.digest.job import DigestReport, run_digest
from papertide.digest.policy import DigestPolicy
from papertide.domain.models import Paper
from papertide.mail.transport import SmtpTransport
from papertide.store.engine import begin_write, make_engine
from papertide.store.migrate import upgrade_database
from papertide.store.papers import upsert_papers
from papertide.store.schema import papers, subscribers

NOW = dt.datetime(2026, 8, 21, 23, 30, tzinfo=dt.UTC)
CATEGORIES = ["cs.LG", "cs.AI", "cs.CL", "cs.CV", "stat.ML", "math.OC", "math.DS", "quant-ph", "hep-th", "q-bio.NC"]
ZONES = [
    "UTC",
    "Europe/Paris",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Australia/Sydney",
    "America/Sao_Paulo",
    "Africa/Nairobi",
]
WORDS = [
    "neural",
    "dynamics",
    "graph",
    "diffusion",
    "language",
    "quantum",
    "protein",
    "robot",
    "causal",
    "vision",
    "chaos",
    "transformer",
    "sparse",
    "kernel",
    "bayesian",
    "control",
    "manifold",
    "spectral",
    "agent",
    "flow",
]
FIRST = ["Ada", "Alan", "Grace", "Emmy", "Kurt", "Sofia", "Ravi", "Mei", "Olu", "Jana"]
LAST = ["Lovelace", "Turing", "Hopper", "Noether", "Goedel", "Kovalevskaya", "Raman", "Chen", "Adeyemi", "Novak"]


def build_papers(rng: random.Random, count: int) -> list[Paper]:
    """Papers listed over the 14 days before NOW; one in ten upvoted, a heavy tail of votes."""
    result: list[Paper] = []
    for number in range(count):
        words = rng.sample(WORDS, 4)
        listed = (NOW - dt.timedelta(days=rng.uniform(0, 14))).date()
        result.append(
            Paper(
                arxiv_id=f"2608.{number:05d}",
                title=f"{words[0].title()} {words[1]} for {words[2]} {words[3]}: a study number {number}",
                abstract=" ".join(rng.choice(WORDS) for _ in range(160)) + ".",
                authors=tuple(f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(rng.randint(1, 8))),
                categories=tuple(rng.sample(CATEGORIES, rng.randint(1, 3))),
                published=listed,
                listed_on=listed,
                external_upvotes=int(rng.paretovariate(1.2)) if rng.random() < 0.1 else 0,
            )
        )
    return result


def topics_for(rng: random.Random) -> dict[str, list[str]]:
    kind = rng.random()
    topics: dict[str, list[str]] = {"categories": [], "authors": [], "topics": []}
    if kind < 0.4:
        return topics
    if kind < 0.7:
        topics["categories"] = rng.sample(CATEGORIES, rng.randint(1, 3))
    elif kind < 0.85:
        topics["authors"] = [f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(rng.randint(1, 2))]
    else:
        topics["topics"] = [" ".join(rng.sample(WORDS, 2)) for _ in range(rng.randint(1, 2))]
    return topics


def setup(database_url: str, count: int, paper_count: int, seed: int) -> None:
    """Create the database: papers and ``count`` confirmed subscribers due at NOW."""
    rng = random.Random(seed)
    engine = make_engine(database_url)
    upgrade_database(engine)
    with begin_write(engine) as conn:
        upsert_papers(conn, build_papers(rng, paper_count), NOW)
    rows: list[dict[str, Any]] = []
    for number in range(count):
        zone = rng.choice(ZONES)
        local_hour = NOW.astimezone(ZoneInfo(zone)).hour
        rows.append(
            {
                "email": f"reader{number:06d}@example.org",
                "status": "confirmed",
                "frequency": "daily",
                # Their hour came up to ten hours ago, so every digest is due at NOW.
                "hour": (local_hour - rng.randint(0, 10)) % 24,
                "timezone": zone,
                "size": rng.choice([5, 10, 10, 10, 15, 20, 30]),
                "topics": topics_for(rng),
                "created_at": NOW - dt.timedelta(days=30),
                "confirmed_at": NOW - dt.timedelta(days=30),
                "bounce_count": 0,
            }
        )
    with begin_write(engine) as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(subscribers.insert(), rows[start : start + 5000])
    engine.dispose()


def serve_sink(port: int, ready: Any, results: Any, stop: Any) -> None:
    """An aiosmtpd server counting accepted messages and bytes, in its own process."""
    from aiosmtpd.controller import Controller

    class Counter:
        messages = 0
        size = 0

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            Counter.messages += 1
            Counter.size += len(envelope.original_content or b"")
            return "250 OK"

    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    results.put((Counter.messages, Counter.size, usage.ru_utime + usage.ru_stime))


def word_matcher(database_url: str) -> Any:
    """Topic -> ids of papers whose title holds every word of it (stands in for the search service)."""
    engine = make_engine(database_url)
    index: dict[str, set[int]] = {}
    with engine.connect() as conn:
        for row in conn.execute(select(papers.c.id, papers.c.title)):
            for word in row.title.lower().replace(":", " ").split():
                index.setdefault(word, set()).add(row.id)
    engine.dispose()

    def match(text: str, hits: int) -> Sequence[int]:
        found = set.intersection(*(index.get(word, set()) for word in text.lower().split()))
        return sorted(found)[:hits]

    return match


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def table(rows: list[tuple[str, str, str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--papers", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2, help="delivery processes (PAPERTIDE_DIGEST_WORKERS)")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="papertide-bench-digest-") as tmp:
        database_url = f"sqlite:///{Path(tmp) / 'papertide.db'}"
        started = time.perf_counter()
        child = context.Process(target=setup, args=(database_url, args.subscribers, args.papers, args.seed))
        child.start()
        child.join()
        assert child.exitcode == 0, "setup failed"
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        setup_cpu = usage.ru_utime + usage.ru_stime
        setup_s = time.perf_counter() - started
        port, ready, stop, results = free_port(), context.Event(), context.Event(), context.Queue()
        sink = context.Process(target=serve_sink, args=(port, ready, results, stop))
        sink.start()
        ready.wait(30)
        engine = make_engine(database_url)
        site = MailSite(
            name="papertide",
            base_url="https://papers.example.org",
            mail_from="papertide <digest@papers.example.org>",
            secret="bench-secret-0123456789abcdef0123456789",
            postal_address="1 Example Street, 12345 Springfield",
        )
        matcher = word_matcher(database_url)
        started = time.perf_counter()
        url = f"smtp://127.0.0.1:{port}"
        report: DigestReport = run_digest(
            engine,
            partial(SmtpTransport, url),
            MailComposer(site),
            now=NOW,
            policy=DigestPolicy(workers=args.workers),
            matcher=matcher,
            clock=lambda: NOW,
        )
        total_s = time.perf_counter() - started
        stop.set()
        received, size, server_cpu = results.get(timeout=60)
        sink.join()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)  # setup, helpers and the server, all joined
    sent = report.delivery.sent
    plan, delivery = report.plan, report.delivery

    def rate(count: float, elapsed: float) -> str:
        return f"{count / max(elapsed, 1e-9):,.0f}/s"

    def seconds(value: float) -> str:
        return f"{value:.1f} s"

    planned = f"{plan.planned:,} / {plan.empty:,} / {delivery.failed:,}"
    helper_cpu = max(children.ru_utime + children.ru_stime - server_cpu - setup_cpu, 0.0)
    average = f"{size / max(received, 1) / 1024:.1f} KB average"
    rows = [
        ("step", "time", "rate"),
        ("setup (not in total)", f"{setup_s:.1f} s", f"{args.subscribers:,} subscribers, {args.papers:,} papers"),
        ("plan: select + write outbox", seconds(report.plan_seconds), rate(plan.subscribers, report.plan_seconds)),
        (
            "compose (time summed over processes)",
            seconds(delivery.compose_seconds),
            rate(sent, delivery.compose_seconds),
        ),
        (
            "send: SMTP + commit (summed over processes)",
            seconds(delivery.send_seconds),
            rate(sent, delivery.send_seconds),
        ),
        (
            "deliver after planning ended (wall clock)",
            seconds(report.deliver_seconds),
            rate(sent, report.deliver_seconds),
        ),
        ("total run", seconds(total_s), rate(received, total_s) + " delivered"),
        ("delivered (counted by the server)", f"{received:,}", average),
        ("planned / empty / failed", planned, ""),
        ("delivery processes", str(args.workers), ""),
        (
            "CPU: run process / helpers / SMTP server",
            f"{own.ru_utime + own.ru_stime:.0f} / {helper_cpu:.0f} / {server_cpu:.0f} s",
            f"{(own.ru_utime + own.ru_stime + helper_cpu) / max(received, 1) * 1000:.2f} ms/message without server",
        ),
        ("peak memory (run process)", f"{peak_mb:,.0f} MB", ""),
    ]
    print(table(rows))


if __name__ == "__main__":
    main()
