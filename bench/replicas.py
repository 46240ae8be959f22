"""Index replicas benchmark (issue 14): memory of 1 vs N processes sharing one index folder, and follow lag.

Stores a synthetic corpus (bench/search_corpus.py) with random clustered vectors in a fresh
SQLite database, builds both indexes as `papertide index` does, then starts serving processes
on that data directory (each builds its own Services, opens the lexical index and the semantic
searcher, and answers queries: exact/HNSW over the vectors, BM25 over the words; no embedding
model, which every process loads on its own and is no part of the index). It reads each
process's memory from /proc (RSS counts a shared page in every process that maps it; PSS
splits it among them, so the sum of PSS is what the host really spends) for

- ``mapped``: the snapshot memory-mapped, as papertide serves now;
- ``private``: the same index copied into each process's heap, as before issue 14.

Then it stores papers (and their vectors) one at a time, as another host's ingest would, and
times how long until a follower process finds each by its vector and by a word of its title,
searching in a loop (a request arriving at once; a real request comes later).

    .venv/bin/python -m bench.replicas                      # 100,000 papers, 4 processes
    .venv/bin/python -m bench.replicas --papers 20000 --vector-index hnsw
    .venv/bin/python -m bench.replicas --keep /tmp/replicas-20k --papers 20000   # build there and keep it
    .venv/bin/python -m bench.replicas --keep DIR --reuse     # a corpus built in DIR already (also by bench.search)

With ``--reuse`` the corpus in the ``--keep`` folder (built by this bench or by ``bench/search.py
--keep``; both lay out a data directory: ``papertide.db`` and ``search/``) is only read: its
indexes are copied as `papertide export-index` copies them into a scratch data directory whose
processes read that folder's database, and the lag rounds, which store papers, are skipped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import numpy as np
import tantivy

from bench.search_corpus import DIM, Vocabulary, clustered_vectors, store_papers, store_vectors
from papertide.config import Settings
from papertide.domain.models import Paper
from papertide.domain.query import parse_query
from papertide.search.index_export import open_index_copy, write_index_archive
from papertide.search.index_import import import_index_archive
from papertide.search.lexical.index import directory_for as lexical_directory_for
from papertide.search.lexical.plan import compose_lexical_plan
from papertide.search.semantic.model import resolve_model
from papertide.search.semantic.searcher import vector_directory_for
from papertide.search.semantic.vectors import VectorSpace, fetch_papers_by_id, fetch_vector, write_vectors
from papertide.services import Services, index_config
from papertide.store.engine import begin_write, make_engine
from papertide.store.migrate import upgrade_database
from papertide.store.papers import upsert_papers

REPOSITORY = Path(__file__).resolve().parents[1]
QUERIES = 30


def settings_for(folder: Path, vector_index: str, database_url: str = "") -> Settings:
    """The settings every process of the run shares (the database in ``folder`` unless ``database_url``)."""
    settings = Settings(data_dir=folder, secret_key="bench-secret-key-not-for-production", vector_index=vector_index)  # type: ignore[call-arg,arg-type]
    return settings.model_copy(update={"database_url": database_url}) if database_url else settings


def memory_kb(pid: int) -> dict[str, int]:
    """Rss, Pss and private (Private_Clean + Private_Dirty) of a process, in kB (Linux smaps_rollup)."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == "kB":
            fields[parts[0].rstrip(":")] = int(parts[1])
    return {
        "rss": fields.get("Rss", 0),
        "pss": fields.get("Pss", 0),
        "private": fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0),
    }


# --- the serving process ---------------------------------------------------------------------


def serve(folder: Path, vector_index: str, mode: str, database_url: str) -> None:
    """One serving process: open both indexes, then answer the parent's commands on stdin."""
    started = time.perf_counter()
    services = Services(settings_for(folder, vector_index, database_url))
    if mode == "none":  # the baseline: papertide imported, the query words drawn, no index open
        Vocabulary().queries(np.random.default_rng(os.getpid()), QUERIES)
        print("ready 0 0 none", flush=True)
        for line in sys.stdin:
            print("done" if line.startswith("query") else "", flush=True)
        return
    services.lexical.ensure_open()
    searcher = services.semantic()
    index = searcher.index
    assert index is not None
    private = index.merged() if mode == "private" else None
    opened = time.perf_counter() - started
    role = "writer" if searcher.is_writer else "follower"
    rng = np.random.default_rng(os.getpid())
    lexical = services.lexical

    def words_query(text: str) -> tantivy.Query:
        plan = compose_lexical_plan(lexical.schema, parse_query(text), services.search.options.field_weights)
        assert plan.ranked is not None
        return plan.ranked

    words = [words_query(text) for text in Vocabulary().queries(rng, QUERIES)]
    print(f"ready {opened:.3f} {searcher.caught_up} {role}", flush=True)
    for line in sys.stdin:
        command = line.split()
        if command[0] == "query":
            for word in words:
                vector = rng.standard_normal(DIM).astype(np.float32)
                searcher.refresh()
                (private or searcher.index or index).search(vector / np.linalg.norm(vector), 10)
                lexical.refresh()
                lexical.search(word, 10)
            print("done", flush=True)
        elif command[0] == "find":
            paper_id, stored_at, title_word = int(command[1]), float(command[2]), words_query(command[3])
            with services.engine.connect() as conn:
                stored = fetch_vector(conn, paper_id, searcher.space)
            assert stored is not None
            semantic_lag = lexical_lag = None
            while semantic_lag is None or lexical_lag is None:
                if semantic_lag is None:
                    searcher.refresh()
                    hits = searcher.index.search(stored, 1) if searcher.index is not None else []
                    if hits and hits[0][0] == paper_id:
                        semantic_lag = time.time() - stored_at
                if lexical_lag is None:
                    lexical.refresh()
                    found = lexical.search(title_word, 5)[0]
                    if paper_id in {pid for pid, _ in found}:
                        lexical_lag = time.time() - stored_at
            print(f"found {semantic_lag:.4f} {lexical_lag:.4f}", flush=True)


# --- the parent ------------------------------------------------------------------------------


class Server:
    """A serving child process driven over its stdin and stdout."""

    def __init__(self, folder: Path, vector_index: str, mode: str, database_url: str = "") -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.replicas", "serve", str(folder), vector_index, mode, database_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPOSITORY,
        )
        ready = self.read().split()
        self.open_seconds, self.caught_up, self.role = float(ready[1]), int(ready[2]), ready[3]

    def read(self) -> str:
        stream: IO[str] | None = self.process.stdout
        assert stream is not None
        line = stream.readline()
        if not line:
            raise RuntimeError(f"serving process {self.process.pid} ended early")
        return line

    def ask(self, command: str) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.read()

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=120)


def measure(
    folder: Path, vector_index: str, mode: str, count: int, database_url: str = ""
) -> tuple[dict[str, int], float]:
    """Summed memory (kB) of ``count`` serving processes after each answered queries, and the slowest start."""
    servers = [Server(folder, vector_index, mode, database_url) for _ in range(count)]
    try:
        for server in servers:
            server.ask("query")
        totals = {"rss": 0, "pss": 0, "private": 0}
        for server in servers:
            for key, value in memory_kb(server.process.pid).items():
                totals[key] += value
        return totals, max(server.open_seconds for server in servers)
    finally:
        for server in servers:
            server.stop()


def store_one(services: Services, vocabulary: Vocabulary, number: int, space: VectorSpace) -> tuple[int, str]:
    """Store one paper and its vector as another host's ingest would; returns its id and a word of its title."""
    word = f"replicaword{number}"
    paper = Paper(
        arxiv_id=f"lag.{number:05d}",
        title=f"{word} " + vocabulary.texts(np.random.default_rng(number), 1, 6, 10)[0],
        abstract=vocabulary.texts(np.random.default_rng(number + 1), 1, 120, 200)[0],
        authors=("Ada Lag",),
        categories=("cs.LG",),
        primary_category="cs.LG",
        published=dt.date(2026, 1, 1),
    )
    now = dt.datetime.now(dt.UTC)
    with begin_write(services.engine) as conn:
        report = upsert_papers(conn, [paper], now)
    paper_id = next(iter(report.changed_ids))
    rng = np.random.default_rng(number)
    centre = rng.standard_normal((1, DIM)).astype(np.float32)
    with begin_write(services.engine) as conn:
        stored = fetch_papers_by_id(conn, [paper_id])
        write_vectors(conn, space, list(zip(stored, clustered_vectors(rng, centre, 1), strict=True)), now)
    return paper_id, word


def print_memory(
    papers: int, kind: str, processes: int, rows: dict[str, tuple[dict[str, int], dict[str, int], float]]
) -> None:
    """The memory table: whole processes, then the indexes' share (less a process with no index open)."""
    print(f"\n| {papers:,} papers, {kind} | 1 process MB | {processes} processes MB | ratio |")
    print("|---|---:|---:|---:|")
    labels = (("rss", "RSS (sum)"), ("pss", "PSS (sum: what the host spends)"), ("private", "private (sum)"))
    base_one, base_many, _ = rows["none"]
    for mode, (one, many, _) in rows.items():
        for key, label in labels:
            ratio = many[key] / max(one[key], 1)
            print(f"| {mode}: {label} | {one[key] / 1024:,.0f} | {many[key] / 1024:,.0f} | {ratio:.2f} |")
    for mode in ("mapped", "private"):
        one, many, _ = rows[mode]
        for key, label in (("rss", "RSS"), ("pss", "PSS")):
            index_one, index_many = one[key] - base_one[key], many[key] - base_many[key]
            ratio = index_many / max(index_one, 1)
            figures = f"{index_one / 1024:,.0f} | {index_many / 1024:,.0f} | {ratio:.2f}"
            print(f"| {mode}: indexes' {label} (less `none`) | {figures} |")
    slowest = max(rows[mode][2] for mode in ("mapped", "private"))
    print(f"\nslowest start of a serving process from the snapshot: {slowest:.2f} s")


def build(papers: int, vector_index: str, folder: Path) -> tuple[Services, Vocabulary, VectorSpace]:
    """Store the corpus in ``folder`` and build both indexes as `papertide index` does."""
    settings = settings_for(folder, vector_index)
    services = Services(settings)
    upgrade_database(services.engine)
    vocabulary = Vocabulary()
    print(f"{papers:,} synthetic papers in {folder} (vector index: {vector_index})", flush=True)
    store_papers(services.engine, vocabulary, papers, lambda n: None)
    model = resolve_model(settings.embedding_model).name
    space = store_vectors(services.engine, model, lambda n: None)
    started = time.perf_counter()
    services.indexer.catch_up_lexical()
    services.indexer.catch_up_semantic()
    print(f"indexes built in {time.perf_counter() - started:.1f} s", flush=True)
    services.close()  # the builder leaves: the first serving process becomes the writer
    return services, vocabulary, space


def copy_built(source: Path, vector_index: str, scratch: Path) -> str:
    """Copy the indexes of the data directory ``source`` into ``scratch``, reading ``source`` only.

    Returns the URL of ``source``'s database, which the processes in ``scratch`` read.
    """
    database_url = settings_for(source, vector_index).database_url
    engine = make_engine(database_url)
    started = time.perf_counter()
    archive = scratch / "indexes"
    with open_index_copy(engine, lexical_directory_for(source), vector_directory_for(source)) as copy:
        manifest = write_index_archive(copy, archive)
    report = import_index_archive(
        archive,
        engine,
        lexical_directory_for(scratch / "data"),
        vector_directory_for(scratch / "data"),
        index_config(settings_for(scratch / "data", vector_index)),
    )
    shutil.rmtree(archive)
    engine.dispose()
    print(
        f"reusing {source}: {manifest.total_bytes / 1e6:,.0f} MB of indexes copied in "
        f"{time.perf_counter() - started:.1f} s ({report.summary()})",
        flush=True,
    )
    return database_url


def run(papers: int, processes: int, vector_index: str, lag_rounds: int, folder: Path, reuse: bool = False) -> None:
    if reuse:
        scratch = Path(tempfile.mkdtemp(prefix="papertide-replicas-reuse-"))
        try:
            database_url = copy_built(folder, vector_index, scratch)
            measure_and_report(scratch / "data", vector_index, processes, database_url)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        print(f"\ncorpus read from {folder}; no lag rounds (they store papers)")
        return
    services, vocabulary, space = build(papers, vector_index, folder)
    measure_and_report(folder, vector_index, processes, "")
    if lag_rounds:
        measure_lag(services, vocabulary, space, folder, vector_index, lag_rounds)


def measure_and_report(folder: Path, vector_index: str, processes: int, database_url: str) -> None:
    """Memory of 1 and of ``processes`` serving processes, per mode, as a table."""
    services = Services(settings_for(folder, vector_index, database_url))
    built = services.semantic().index
    kind = built.kind if built is not None else "none"
    papers = len(built) if built is not None else 0
    services.close()
    print(f"measuring {papers:,} vectors ({kind})", flush=True)
    rows = {}
    for mode in ("none", "mapped", "private"):
        one, start_one = measure(folder, vector_index, mode, 1, database_url)
        many, start_many = measure(folder, vector_index, mode, processes, database_url)
        rows[mode] = (one, many, max(start_one, start_many))
    print_memory(papers, kind, processes, rows)


def measure_lag(
    services: Services, vocabulary: Vocabulary, space: VectorSpace, folder: Path, vector_index: str, lag_rounds: int
) -> None:
    """How long until a follower finds a paper stored by another process, by its vector and by a word."""
    followers = [Server(folder, vector_index, "mapped") for _ in range(2)]
    try:
        caught = ", ".join(f"{server.role} read {server.caught_up} vectors at start" for server in followers)
        print(f"lag processes: {caught}")
        follower = next((server for server in followers if server.role == "follower"), followers[-1])
        semantic_lags, lexical_lags = [], []
        for number in range(lag_rounds):
            paper_id, word = store_one(services, vocabulary, number, space)
            answer = follower.ask(f"find {paper_id} {time.time()} {word}").split()
            semantic_lags.append(float(answer[1]))
            lexical_lags.append(float(answer[2]))
    finally:
        for server in followers:
            server.stop()
    print("\n| stored in the database -> found by a follower | median ms | max ms |")
    print("|---|---:|---:|")
    for label, lags in (("by its vector", semantic_lags), ("by a title word (BM25)", lexical_lags)):
        print(f"| {label} | {statistics.median(lags) * 1000:.1f} | {max(lags) * 1000:.1f} |")
    rounds = zip(semantic_lags, lexical_lags, strict=True)
    print("each round, ms (vector / word):", ", ".join(f"{a * 1000:.0f}/{b * 1000:.0f}" for a, b in rounds))
    services.close()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(Path(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else "")
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--vector-index", choices=["auto", "exact", "hnsw"], default="auto")
    parser.add_argument("--lag-rounds", type=int, default=10)
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it (default: a temporary one)")
    parser.add_argument(
        "--reuse", action="store_true", help="with --keep: measure the corpus built there already, reading it only"
    )
    args = parser.parse_args()
    if args.reuse and args.keep is None:
        parser.error("--reuse needs --keep FOLDER: the folder of the corpus built already")
    if args.keep is not None:
        if args.reuse and not (args.keep / "search").is_dir():
            parser.error(f"--reuse: {args.keep} holds no built corpus (no search/ folder)")
        if not args.reuse and args.keep.exists() and any(args.keep.iterdir()):
            parser.error(f"--keep: {args.keep} is not empty (add --reuse to measure what is there)")
        args.keep.mkdir(parents=True, exist_ok=True)
        run(args.papers, args.processes, args.vector_index, args.lag_rounds, args.keep, reuse=args.reuse)
        return
    with tempfile.TemporaryDirectory(prefix="papertide-replicas-") as folder:
        run(args.papers, args.processes, args.vector_index, args.lag_rounds, Path(folder))


if __name__ == "__main__":
    main()
