"""Where plain hybrid search's time goes, phase by phase, on a corpus kept by ``bench.search --keep`` (issue 13).

Opens the kept folder without rebuilding, migrating or writing into it, and searches it
through the same ``Services``/``SearchService`` the web app builds:
- SQLite: the database read-only (``immutable=1``: not even a -wal or -shm file);
  PostgreSQL (``--database postgresql``): the folder's embedded server (``pgdata/``) is started
  as ``bench.search --reuse`` starts it, and only read;
- the lexical index from a hard-linked (else copied) copy under ``--work``, since opening it
  takes a lock file beside it; the run stops if that copy would have to be rebuilt or caught up;
- the vector snapshot memory-mapped from the folder through a link, its pointer file copied.
No migration runs: a corpus of an older schema fails on its first query instead.

Times N plain hybrid queries (the bench's own, seed 3; per_page 10, the page's papers fetched as
the search API fetches them) and each building block alone (query embedding, tantivy top
``fusion_depth``, vector search top ``max_results``), then prints CPU and wall time per phase of
``SearchService.search``: each phase's CPU is the thread time of the thread that ran it (a
phase run on another thread does not inflate the others) and exclusive of the nested phases.
The whole query's CPU is the process's (all threads). ``--cprofile`` lists functions instead
(with the word side run in the searching thread, after the meaning side: cProfile sees one thread).

    python -m bench.search_profile --folder DIR --queries 200   # DIR: a folder kept by bench.search --keep
    python -m bench.search_profile --folder /tmp/pg --database postgresql --hnsw
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import functools
import importlib
import io
import json
import os
import pstats
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import event

from bench.search import bench_database, warm_page_cache
from bench.search_corpus import Vocabulary
from bench.search_filters import filter_queries
from papertide.config import Settings
from papertide.domain.query import parse_query
from papertide.search.lexical.index import directory_for
from papertide.search.lexical.plan import compose_lexical_plan
from papertide.search.request import SearchRequest
from papertide.services import Services
from papertide.web.paper_lookup import fetch_hit_papers

QUERY = "papertide.search.query"
LEXICAL = "papertide.search.lexical.read"
# Phase -> the (module, owner, attribute) whose calls make it; time in a nested phase counts there only.
# Names missing from the code being profiled (another version) are skipped.
PHASES: dict[str, list[tuple[str, str | None, str]]] = {
    "parse": [(QUERY, None, "parse_query")],
    "lexical: ensure_open + refresh (freshness)": [
        ("papertide.search.lexical.index", "LexicalIndex", "ensure_open"),
        ("papertide.search.lexical.index", "LexicalIndex", "refresh"),
    ],
    "plan (lexical plan, database filter)": [
        (QUERY, None, "compose_lexical_plan"),
        (QUERY, None, "compose_database_filter"),
    ],
    "filter: allowed ids (kept, patched or read)": [
        (QUERY, None, "read_allowed_ids"),
        ("papertide.search.filtered_side", None, "read_allowed_ids"),
    ],
    "filter: nearest first (a broad filter's first uses)": [
        (QUERY, None, "rank_broad_filter"),
        ("papertide.search.filtered_side", None, "rank_broad_filter"),
    ],
    "semantic: searcher lookup": [(QUERY, "SearchService", "semantic")],
    "semantic: query embedding": [("papertide.search.semantic.searcher", "SemanticSearcher", "embed_query")],
    "semantic: vector freshness (refresh)": [("papertide.search.semantic.following", "ReplicaFollower", "refresh")],
    "semantic: admitted bitmap (a filter's rows, when not kept)": [
        ("papertide.search.semantic.mapped", "MappedIndex", "_admit")
    ],
    "semantic: vector search": [("papertide.search.semantic.replica", "ReplicaIndex", "nearest")],
    "semantic: the rest (rank, floor, explain)": [
        ("papertide.search.semantic.searcher", "SemanticSearcher", "rank"),
        (QUERY, "SearchService", "_run_semantic"),
    ],
    "lexical: most_frequent (pre-count)": [
        (LEXICAL, "LexicalReader", "most_frequent"),
        (LEXICAL, "LexicalReader", "most_frequent_term"),
    ],
    "lexical: BM25 search (+ count)": [
        (LEXICAL, "LexicalReader", "search"),
        (LEXICAL, "LexicalReader", "search_ranked"),
        (LEXICAL, "LexicalReader", "search_counted"),
    ],
    "lexical: broad filter's unfiltered top k (lexical/broad.py)": [(LEXICAL, "LexicalReader", "ranked_prefix")],
    "lexical: broad filter's count bound (newest allowed)": [(LEXICAL, "LexicalReader", "count_between")],
    "lexical: the rest (arrays, explain)": [
        (QUERY, "SearchService", "_run_words"),
        (QUERY, "SearchService", "_lexical_side"),
    ],
    "fusion": [(QUERY, None, "fuse_words_and_meaning"), ("papertide.search.hybrid", None, "fuse_words_and_meaning")],
    "totals: keep_matching": [(LEXICAL, "LexicalReader", "keep_matching")],
    "floor + totals (rest of the fusion step)": [(QUERY, "SearchService", "_fuse"), (QUERY, None, "fuse_sides")],
    "describe_hits": [(QUERY, None, "describe_hits")],
    "waiting for the word side (search's thread)": [("papertide.search.beside", "Pending", "result")],
    "page's papers (connect + get_papers)": [(__name__, None, "fetch_page_papers")],
}
OTHER = "other (search's body; ONNX's other threads)"


class PhaseTimer:
    """Exclusive thread CPU seconds and wall seconds per phase, by wrapping the phases' functions."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        self.wall: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        # Wall time spent on the searching thread itself: the rest of a query's wall time is "other".
        self.wall_here: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        self.calls: dict[str, int] = dict.fromkeys(PHASES, 0)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._undo: list[tuple[Any, str, Any]] = []

    def _stack(self) -> list[list[float]]:
        stack: list[list[float]] | None = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    def wrap(self, phase: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            stack = self._stack()
            frame = [time.thread_time(), time.perf_counter(), 0.0, 0.0]
            stack.append(frame)
            try:
                return function(*args, **kwargs)
            finally:
                stack.pop()
                spent = time.thread_time() - frame[0]
                waited = time.perf_counter() - frame[1]
                with self._lock:
                    self.cpu[phase] += spent - frame[2]
                    self.wall[phase] += waited - frame[3]
                    if threading.current_thread() is threading.main_thread():
                        self.wall_here[phase] += waited - frame[3]
                    self.calls[phase] += 1
                if stack:
                    stack[-1][2] += spent
                    stack[-1][3] += waited

        return timed

    def install(self) -> list[str]:
        """Wrap every phase function found; returns the phases of which nothing was found."""
        missing = []
        for phase, places in PHASES.items():
            found = False
            for module_name, owner_name, attribute in places:
                try:
                    module = importlib.import_module(module_name)
                except ModuleNotFoundError:
                    continue
                owner = getattr(module, owner_name, None) if owner_name else module
                if owner is None or attribute not in vars(owner):
                    continue
                original = vars(owner)[attribute]
                self._undo.append((owner, attribute, original))
                setattr(owner, attribute, self.wrap(phase, original))
                found = True
            if not found:
                missing.append(phase)
        return missing

    def uninstall(self) -> None:
        for owner, attribute, original in reversed(self._undo):
            setattr(owner, attribute, original)
        self._undo.clear()

    def table(self, queries: int, cpu: float, wall: float) -> str:
        per = 1000 / max(queries, 1)
        lines = [f"{'phase (mean per query)':46} {'CPU ms':>8} {'wall ms':>8} {'calls':>6}"]
        for phase in PHASES:
            if self.calls[phase]:
                lines.append(
                    f"{phase:46} {self.cpu[phase] * per:8.3f} {self.wall[phase] * per:8.3f} "
                    f"{self.calls[phase] / max(queries, 1):6.1f}"
                )
        rest_cpu = cpu - sum(self.cpu.values())
        rest_wall = wall - sum(self.wall_here.values())
        lines.append(f"{OTHER:46} {rest_cpu * per:8.3f} {rest_wall * per:8.3f}")
        lines.append(f"{'whole query (CPU: every thread)':46} {cpu * per:8.3f} {wall * per:8.3f}")
        beside = sum(self.wall.values()) - sum(self.wall_here.values())
        if beside > 0:
            lines.append(f"(of the phases' wall time, {beside * per:.3f} ms per query ran on other threads, beside)")
        return "\n".join(lines)


def fetch_page_papers(services: Services, hits: Any) -> object:
    """The page's papers, as the search API fetches them (its own connection, fetch_hit_papers)."""
    with services.engine.connect() as conn:
        return fetch_hit_papers(conn, hits)


def link_or_copy_tree(source: Path, target: Path) -> None:
    """``target`` as hard links to ``source``'s files (a copy where links cannot be made)."""

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=link)


def prepare_work(folder: Path, work: Path) -> None:
    """A data directory under ``work`` whose indexes are the folder's, without writing into the folder."""
    lexical_source, lexical_target = directory_for(folder), directory_for(work)
    if not lexical_target.exists():
        link_or_copy_tree(lexical_source, lexical_target)
    vectors_source, vectors_target = folder / "search" / "vectors", work / "search" / "vectors"
    vectors_target.mkdir(parents=True, exist_ok=True)
    pointer = vectors_source / "current.json"
    shutil.copy2(pointer, vectors_target / "current.json")
    snapshot = json.loads(pointer.read_text())["snapshot"]
    if not (vectors_target / snapshot).exists():
        (vectors_target / snapshot).symlink_to(vectors_source / snapshot)
    models = work / "models"
    if not models.exists() and (folder / "models").exists():
        models.symlink_to(folder / "models")


@contextmanager
def database_url(kind: str, folder: Path) -> Iterator[str]:
    """The kept corpus's database: the SQLite file read-only, or the folder's embedded PostgreSQL."""
    if kind == "sqlite":
        yield f"sqlite:///file:{(folder / 'papertide.db').as_posix()}?immutable=1&uri=true"
        return
    with bench_database("postgresql", folder, keep=True) as url:
        yield url


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds of samples in seconds."""
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


def time_each(run: Callable[[str], object], queries: list[str]) -> tuple[tuple[float, float], tuple[float, float]]:
    """Warm up on ten queries, then (wall p50, p95) and (process CPU p50, p95) of each query once."""
    for query in queries[:10]:
        run(query)
    wall, cpu = [], []
    for query in queries:
        started, used = time.perf_counter(), time.process_time()
        run(query)
        cpu.append(time.process_time() - used)
        wall.append(time.perf_counter() - started)
    return percentiles(wall), percentiles(cpu)


def compare_sequential(service: Any, hybrid: Callable[[str], object], queries: list[str]) -> None:
    """Plain hybrid with its word side beside the meaning side, and after it (no workers), query by query in turn.

    Interleaved in one process, so both see the same load: on a busy machine this is the fair
    comparison of the two orders.
    """
    try:
        from papertide.search.beside import Beside
    except ImportError:
        print("(--compare-sequential: this version of the code runs the sides one after the other only)")
        return
    kept, alone = service.beside, Beside(0, "none")
    samples: dict[str, tuple[list[float], list[float]]] = {"beside": ([], []), "one after the other": ([], [])}
    for query in queries[:10]:
        hybrid(query)
    for number, query in enumerate(queries):
        order = ("beside", "one after the other") if number % 2 else ("one after the other", "beside")
        for label in order:
            service.beside = kept if label == "beside" else alone
            started, used = time.perf_counter(), time.process_time()
            hybrid(query)
            samples[label][1].append(time.process_time() - used)
            samples[label][0].append(time.perf_counter() - started)
    service.beside = kept
    for label, (wall, cpu) in samples.items():
        (w50, w95), (c50, c95) = percentiles(wall), percentiles(cpu)
        print(f"| plain hybrid, word side {label} | {w50:.2f} / {w95:.2f} | {c50:.2f} / {c95:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, required=True, help="a folder kept by bench.search --keep")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--work", type=Path, help="scratch data directory, kept between runs (default: temporary)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=1, help="passes over the queries for the phase table")
    parser.add_argument("--hnsw", action="store_true", help="as bench.search --hnsw (vector_index=hnsw)")
    parser.add_argument("--no-warm", action="store_true", help="do not read the index files once before timing")
    parser.add_argument("--cprofile", action="store_true", help="cProfile's function list instead of phases")
    parser.add_argument(
        "--compare-sequential",
        action="store_true",
        help="also time plain hybrid with the word side beside the meaning side and after it, interleaved",
    )
    parser.add_argument(
        "--filter",
        action="append",
        default=[],
        help="also profile hybrid with this filter added to each query, e.g. 'cat:cs.LG' (repeatable)",
    )
    parser.add_argument("--filter-kinds", action="store_true", help="also profile bench.search's filter kinds")
    parser.add_argument(
        "--first-use",
        action="store_true",
        help="time each filter's first use: no filter ids kept before each query (as bench.search's filter cold rows)",
    )
    parser.add_argument("--no-blocks", action="store_true", help="skip timing the building blocks alone")
    parser.add_argument("--top", type=int, default=40, help="functions listed by own time (with --cprofile)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="papertide-search-profile-") as scratch:
        work = args.work or Path(scratch)
        prepare_work(args.folder, work)
        with database_url(args.database, args.folder) as url:
            profile(args, work, url)


def profile(args: argparse.Namespace, work: Path, url: str) -> None:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=work,
        database_url=url,
        secret_key="bench-secret-key-not-for-production",  # type: ignore[arg-type]
        search_query_embedding_cache=0,
        vector_index="hnsw" if args.hnsw else "auto",
    )
    services = Services(settings)
    service = services.search
    problem, applied, latest = service.lexical.inspect()
    if problem is not None or applied != latest:
        why = problem or f"is behind the database ({applied} < {latest})"
        raise SystemExit(f"the lexical index {why}: stopping rather than rebuilding it")
    started = time.perf_counter()
    service.lexical.ensure_open()
    semantic: Any = service.semantic()
    print(f"opened in {time.perf_counter() - started:.1f} s ({args.database}, {settings.database_url.split('?')[0]})")
    index = semantic.index
    if index is None or index.base is None or semantic.caught_up:
        print(f"warning: the vector index was not the kept snapshot alone (caught up {semantic.caught_up} vectors)")
    if not args.no_warm:
        print(f"read the index files once: {warm_page_cache(args.folder / 'search'):,.0f} MB")
    options = service.options
    queries = Vocabulary().queries(np.random.default_rng(3), args.queries)
    embedder = semantic.embedder
    plans = {q: compose_lexical_plan(service.lexical.schema, parse_query(q), options.field_weights) for q in queries}
    vectors = {q: embedder.embed_query(q) for q in queries}

    def hybrid(query: str) -> object:
        page = service.search(SearchRequest(text=query, mode="hybrid", per_page=10))
        return fetch_page_papers(services, page.hits)

    groups = filter_groups(args, queries)
    if not args.no_blocks:
        print_blocks(service, semantic, index, queries, hybrid, plans, vectors)
        if args.compare_sequential:
            compare_sequential(service, hybrid, queries)
    print()
    if args.cprofile:
        # cProfile sees only the thread it runs in: the word side runs there too, after the meaning side.
        if hasattr(service, "beside"):
            from papertide.search.beside import Beside

            service.beside = Beside(0, "none")
        for label, texts in groups.items():
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            for _ in range(args.rounds):
                for text in texts:
                    if args.first_use:
                        service.allowed_cache.clear()
                    hybrid(text)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
            print(f"## {label}\n{out.getvalue()}")
        return

    def first_use(query: str) -> object:
        service.allowed_cache.clear()
        return hybrid(query)

    trips = RoundTrips(services.engine)
    for label, texts in groups.items():
        # Steady use: a filter's ids read and kept first. First use (--first-use): nothing kept, ever.
        run = first_use if args.first_use and label != "plain hybrid" else hybrid
        for text in texts:
            run(text)
        (w50, w95), (c50, c95) = time_each(run, texts)
        timer = PhaseTimer()
        missing = timer.install()
        trips.reset()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(args.rounds):
            for text in texts:
                run(text)
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
        timer.uninstall()
        total_queries = len(texts) * args.rounds
        label += " (first use)" if run is first_use else ""
        print(f"## {label}: wall p50 / p95 {w50:.2f} / {w95:.2f} ms, CPU p50 / p95 {c50:.2f} / {c95:.2f} ms")
        print(timer.table(total_queries, cpu, wall))
        print(trips.describe(total_queries))
        print(f"(load average {os.getloadavg()[0]:.2f})\n", flush=True)
        if missing:
            print(f"(not in this version of the code: {', '.join(missing)})")
    trips.remove()


def filter_groups(args: argparse.Namespace, queries: list[str]) -> dict[str, list[str]]:
    """Plain hybrid, then each ``--filter`` suffix (or bench.search's filter kinds) applied to the queries."""
    groups = {"plain hybrid": list(queries)}
    for suffix in args.filter:
        groups[f"hybrid + {suffix}"] = [f"{query} {suffix}" for query in queries]
    if args.filter_kinds:
        groups.update(filter_queries(Vocabulary(), queries))
    return groups


def print_blocks(
    service: Any,
    semantic: Any,
    index: Any,
    queries: list[str],
    hybrid: Callable[[str], object],
    plans: dict[str, Any],
    vectors: dict[str, Any],
) -> None:
    """Plain hybrid's p50/p95 beside its building blocks alone."""
    options = service.options
    embedder = semantic.embedder
    blocks = {
        "query embedding": time_each(embedder.embed_query, queries),
        f"tantivy top {options.fusion_depth}": time_each(
            lambda q: (
                service.lexical.search(plans[q].ranked, options.fusion_depth, count=False) if plans[q].ranked else None
            ),
            queries,
        ),
        f"vector search top {options.max_results}": time_each(
            lambda q: index.search(vectors[q], options.max_results), queries
        ),
    }
    timed = time_each(hybrid, queries)
    print(f"\n{len(queries)} queries, load average {os.getloadavg()[0]:.2f}")
    print("| block or query | wall p50 / p95 ms | CPU p50 / p95 ms |\n|---|---:|---:|")
    for label, ((b50, b95), (d50, d95)) in blocks.items():
        print(f"| block: {label} | {b50:.2f} / {b95:.2f} | {d50:.2f} / {d95:.2f} |")
    wall_sum = sum(wall[1] for wall, _ in blocks.values())
    cpu_sum = sum(cpu[1] for _, cpu in blocks.values())
    print(f"| sum of the blocks' p95 | {wall_sum:.2f} | {cpu_sum:.2f} |")
    (w50, w95), (c50, c95) = timed
    print(
        f"| plain hybrid (page's papers fetched) | {w50:.2f} / {w95:.2f} ({w95 / wall_sum:.2f}x) "
        f"| {c50:.2f} / {c95:.2f} ({c95 / cpu_sum:.2f}x) |"
    )


class RoundTrips:
    """Counts what a query asks of the database: statements, pool checkouts (a ping each), transactions ended.

    On PostgreSQL each is a round trip (a transaction's BEGIN is one more, sent with its first
    statement's turn by psycopg: counted as the rollback or commit that ends it).
    """

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.counts = {"statements": 0, "checkouts (ping)": 0, "transactions (BEGIN + ROLLBACK)": 0}
        # Each statement's first words: which reads a query makes (issue 13: a first use's on PostgreSQL).
        self.statements: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine.pool, "checkout", self._checkout)
        event.listen(engine, "rollback", self._transaction)
        event.listen(engine, "commit", self._transaction)

    def _count(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self._count("statements")
        head = " ".join(statement.split())[:72]
        with self._lock:
            self.statements[head] += 1

    def _checkout(self, *_args: Any) -> None:
        self._count("checkouts (ping)")

    def _transaction(self, *_args: Any) -> None:
        self._count("transactions (BEGIN + ROLLBACK)")

    def reset(self) -> None:
        with self._lock:
            self.counts = dict.fromkeys(self.counts, 0)
            self.statements.clear()

    def describe(self, queries: int) -> str:
        per = {name: count / max(queries, 1) for name, count in self.counts.items()}
        listed = ", ".join(f"{name} {value:.2f}" for name, value in per.items())
        each = "".join(f"\n  {count / max(queries, 1):.2f} x {head}" for head, count in self.statements.most_common())
        return f"database per query: {listed}{each}"

    def remove(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine.pool, "checkout", self._checkout)
        event.remove(self.engine, "rollback", self._transaction)
        event.remove(self.engine, "commit", self._transaction)


if __name__ == "__main__":
    main()
