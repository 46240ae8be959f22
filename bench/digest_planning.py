"""Planning alone, its CPU and a checksum of what it planned (issue 13: planning's CPU per subscriber).

Builds (or reuses, with --folder on SQLite) bench/digest_corpus.py's data directory and, for each
of ``--runs`` runs, plans every digest on a fresh copy of it (SQLite: a copied folder; PostgreSQL:
``CREATE DATABASE ... TEMPLATE`` on an embedded server started as bench/digest.py starts one),
with the topics' vectors stored first as the day before's run leaves them ("a normal day", not
timed). Only ``run_planning`` is timed: no delivery. It prints the CPU seconds of this process
(``time.process_time``: steady on a loaded machine, unlike wall time), on PostgreSQL also the
server's (its processes' user + system time from /proc, before and after), and a SHA-256 over
what was planned: each delivery row (subscriber, period, state, Message-ID, due slot) with its
digest's papers, positions and reasons, and every subscriber's ``last_digest_at``. Two versions
of planning that plan the same thing print the same checksum.

    .venv/bin/python -m bench.digest_planning --subscribers 20000 --folder /tmp/plan20k --runs 2
    .venv/bin/python -m bench.digest_planning --subscribers 20000 --database postgresql --cprofile
    .venv/bin/python -m bench.digest_planning --subscribers 20000 --database postgresql --count

``--count`` also prints the statements planning sent and, on PostgreSQL, the rows the server
wrote per table, each per subscriber (bench/statements.py says what each count sees).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import hashlib
import multiprocessing
import os
import pstats
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from sqlalchemy import Engine, select

from bench.digest import Data, clone_database, postgres_server, store_topic_vectors
from bench.digest_corpus import NOW, bench_settings, build_corpus
from bench.postfix import cache_folder
from bench.statements import StatementCount, server_rows
from papertide.digest.plan import SearchTopicMatcher, run_planning
from papertide.domain.clock import as_utc
from papertide.services import Services
from papertide.store.schema import digest_outbox, digest_selection_items, subscribers


def planned_checksum(engine: Engine) -> str:
    """SHA-256 of every planned row with its papers and reasons, and of every subscriber's ``last_digest_at``."""
    digest = hashlib.sha256()
    with engine.connect() as conn:
        items: dict[int, list[tuple[int, int, str]]] = {}
        query = select(
            digest_selection_items.c.selection_id,
            digest_selection_items.c.position,
            digest_selection_items.c.paper_id,
            digest_selection_items.c.reason,
        ).order_by(digest_selection_items.c.selection_id, digest_selection_items.c.position)
        for selection_id, position, paper_id, reason in conn.execute(query):
            items.setdefault(selection_id, []).append((position, paper_id, reason))
        rows = conn.execute(
            select(
                digest_outbox.c.subscriber_id,
                digest_outbox.c.period_key,
                digest_outbox.c.state,
                digest_outbox.c.message_id,
                digest_outbox.c.due_at,
                digest_outbox.c.selection_id,
            ).order_by(digest_outbox.c.id)
        )
        for subscriber_id, period_key, state, message_id, due_at, selection_id in rows:
            line = (subscriber_id, period_key, state, message_id, as_utc(due_at).isoformat(), items[selection_id])
            digest.update(repr(line).encode())
        last = conn.execute(select(subscribers.c.id, subscribers.c.last_digest_at).order_by(subscribers.c.id))
        for subscriber_id, at in last:
            digest.update(repr((subscriber_id, as_utc(at).isoformat() if at else None)).encode())
    return digest.hexdigest()


def server_cpu(engine: Engine) -> float:
    """CPU seconds (user + system) the PostgreSQL server's processes have used: the postmaster and its children."""
    with engine.connect() as conn:
        directory = Path(conn.exec_driver_sql("SHOW data_directory").scalar_one())
    postmaster = int((directory / "postmaster.pid").read_text().split()[0])
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, parent = int(stat.parent.name), int(fields[1])
        if pid == postmaster or parent == postmaster:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


class CpuTimedMatcher:
    """The product's topic matcher, its CPU time counted apart: topic matching costs per topic, not per subscriber."""

    def __init__(self, matcher: SearchTopicMatcher) -> None:
        self.matcher = matcher
        self.seconds = 0.0

    def __call__(self, topic: str, hits: int, candidates: Collection[int]) -> Sequence[int]:
        return self.match_many([topic], hits, candidates)[topic]

    def match_many(self, topics: Sequence[str], hits: int, candidates: Collection[int]) -> Mapping[str, Sequence[int]]:
        started = time.process_time()
        try:
            return self.matcher.match_many(topics, hits, candidates)
        finally:
            self.seconds += time.process_time() - started


def plan_once(
    data: Data, profile: cProfile.Profile | None, count: bool = False
) -> tuple[float, float, float, float, str]:
    """Plan on ``data``: CPU seconds (all, matching topics, the server: 0 on SQLite), wall seconds, checksum.

    :param count: also print the statements sent and, on PostgreSQL, the rows written, per subscriber.
    """
    services = Services(bench_settings(data.folder, **data.settings()))
    matcher = CpuTimedMatcher(services.topic_matcher())
    message_id = services.new_composer().site.make_message_id
    engine = services.engine
    server = server_cpu(engine) if data.database_url else 0.0
    rows_before = server_rows(engine) if count and data.database_url else Counter[str]()
    statements = StatementCount(engine)
    if profile is not None:
        profile.enable()
    with statements if count else contextlib.nullcontext(statements):
        cpu, wall = time.process_time(), time.perf_counter()
        report = run_planning(engine, now=NOW, policy=services.digest_policy, message_id=message_id, matcher=matcher)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if profile is not None:
        profile.disable()
    server = server_cpu(engine) - server if data.database_url else 0.0
    print(f"  planned {report.planned:,} of {report.subscribers:,} ({report.empty:,} with nothing new)", flush=True)
    if count:
        engine.dispose()
        rows = server_rows(engine) - rows_before if data.database_url else Counter[str]()
        for name, counted in (("statements", statements.kinds), ("server rows", rows)):
            listed = ", ".join(f"{kind} {n:,} ({n / report.subscribers:.3f})" for kind, n in sorted(counted.items()))
            print(f"  {name} (per subscriber): {listed or 'none'}", flush=True)
    checksum = planned_checksum(engine)
    engine.dispose()
    return cpu, matcher.seconds, server, wall, checksum


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=20000)
    parser.add_argument("--papers", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--folder", type=Path, help="keep the built corpus here and reuse it (SQLite only)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--cprofile", action="store_true", help="also cProfile's function list (of all runs)")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--count", action="store_true", help="statements sent and rows written (bench/statements.py)")
    parser.add_argument("--dump", type=Path, help="with --cprofile: also save the profile here (pstats)")
    args = parser.parse_args()
    if args.folder and args.database == "postgresql":
        parser.error("--folder keeps a SQLite corpus only; on PostgreSQL the corpus is built for each command")
    profile = cProfile.Profile(time.process_time) if args.cprofile else None
    with tempfile.TemporaryDirectory(prefix="papertide-planning-") as tmp:
        work = Path(tmp)
        template = ""
        with postgres_server(work) if args.database == "postgresql" else contextlib.nullcontext("") as base_url:
            if base_url:
                from tests.postgres_server import create_database

                template = create_database(base_url)
            built = args.folder or work / "built"
            if not built.exists():
                child = multiprocessing.get_context("spawn").Process(
                    target=build_corpus,
                    args=(built, args.subscribers, args.papers, args.seed, cache_folder() / "models", template),
                )
                child.start()
                child.join()
                if child.exitcode != 0:
                    raise SystemExit("setup failed")
            for number in range(args.runs):
                folder = work / f"run{number}"
                shutil.copytree(built, folder, symlinks=True)
                data = Data(folder, clone_database(base_url, template) if template else "")
                store_topic_vectors(data)  # as the day before's run left them (a normal day)
                cpu, matching, server, wall, checksum = plan_once(data, profile, args.count)
                both = f", server {server:.2f} s, both {cpu + server:.2f} s" if base_url else ""
                per = 1000 * cpu / args.subscribers
                rest = 1000 * (cpu - matching) / args.subscribers
                print(
                    f"[{args.database}] run {number + 1}: planning CPU {cpu:.2f} s ({per:.3f} ms per subscriber), "
                    f"topic matching {matching:.2f} s, the rest {rest:.3f} ms per subscriber{both}, "
                    f"wall {wall:.2f} s, checksum {checksum[:16]}",
                    flush=True,
                )
                shutil.rmtree(folder)
    if profile is not None:
        if args.dump:
            profile.dump_stats(args.dump)
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
