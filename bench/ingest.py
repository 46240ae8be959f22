"""Ingest benchmark: parse + store of a synthetic arXiv metadata snapshot (issue 3).

Writes a snapshot in the real format (the Kaggle ``arxiv-metadata-oai-snapshot.json`` lines:
same keys, RFC 2822 version dates, abstracts of 90-230 words) to a temporary directory,
streams it through ``papertide ingest snapshot``'s code path into a fresh SQLite database (or
PostgreSQL: ``--database postgresql``, an embedded server started for the run) without embedding,
and prints papers per second and resident memory along the way.

    .venv/bin/python -m bench.ingest                 # 1,000,000 lines, plain file
    .venv/bin/python -m bench.ingest --lines 200000 --gzip
    .venv/bin/python -m bench.ingest --database postgresql
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import resource
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, text

from bench.databases import scratch_database
from papertide.ingest.pipeline import run_source
from papertide.ingest.snapshot import PROGRESS_EVERY, SnapshotFile, SnapshotSource
from papertide.store.engine import make_engine
from papertide.store.migrate import upgrade_database

CATEGORIES = [
    "cs.LG",
    "cs.AI",
    "cs.CL",
    "cs.CV",
    "stat.ML",
    "math.OC",
    "math.PR",
    "math.DS",
    "physics.comp-ph",
    "quant-ph",
    "hep-th",
    "hep-ph",
    "astro-ph.CO",
    "cond-mat.stat-mech",
    "q-bio.NC",
    "eess.SY",
    "econ.EM",
    "nlin.CD",
]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


PER_MONTH = 20_000


def _identifier(number: int) -> str:
    """A unique new-style id: 20,000 papers a month from April 2007 on."""
    month = 3 + number // PER_MONTH
    return f"{7 + month // 12:02d}{1 + month % 12:02d}.{number % PER_MONTH:05d}"


def _vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    letters = "etaoinshrdlcumwfgypbvkjxqz"
    weights = [26 - i for i in range(26)]
    return ["".join(rng.choices(letters, weights, k=rng.randint(2, 11))) for _ in range(size)]


def _wrap(words: list[str], width: int = 78) -> str:
    """Hard line wraps as arXiv prints them, with the two leading spaces of abstracts."""
    lines, line = [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "  " + "\n".join(lines) + "\n"


def _stamp(rng: random.Random, year: int) -> str:
    return (
        f"{rng.choice(DAYS)}, {rng.randint(1, 28)} {rng.choice(MONTHS)} {year} "
        f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} GMT"
    )


def compose_lines(count: int, seed: int = 7) -> Iterator[str]:
    """``count`` snapshot lines with unique new-style ids; deterministic for a seed.

    Texts come from a pool of 5,000 generated titles, abstracts and author lists, so writing
    a million lines takes seconds, not minutes; ids, versions, dates and categories vary per line.
    """
    rng = random.Random(seed)
    words = _vocabulary(rng)
    surnames = [word.capitalize() for word in words[:4000]]
    pool = []
    for _ in range(5000):
        people = [[rng.choice(surnames), f"{rng.choice(surnames)[0]}.", ""] for _ in range(rng.randint(1, 8))]
        pool.append(
            (
                _wrap(rng.sample(words, rng.randint(6, 16)), 70).strip(),
                _wrap(rng.choices(words, k=rng.randint(90, 230))),
                people,
                ", ".join(f"{first} {last}" for last, first, _ in people),
            )
        )
    for number in range(count):
        year, month = 7 + (number // PER_MONTH) // 12, 1 + (number // PER_MONTH) % 12
        title, abstract, people, authors = pool[rng.randrange(len(pool))]
        first = 2000 + year
        versions = [
            {"version": f"v{v}", "created": _stamp(rng, first + (v > 1))}
            for v in range(1, rng.choice((1, 1, 2, 3)) + 1)
        ]
        record = {
            "id": _identifier(number),
            "submitter": f"{people[0][1]} {people[0][0]}",
            "authors": authors,
            "title": title,
            "comments": f"{rng.randint(5, 40)} pages, {rng.randint(1, 12)} figures" if rng.random() < 0.7 else None,
            "journal-ref": f"J. Synth. {rng.randint(1, 90)} ({first})" if rng.random() < 0.3 else None,
            "doi": f"10.{rng.randint(1000, 9999)}/synth.{number}" if rng.random() < 0.3 else None,
            "report-no": None,
            "categories": " ".join(rng.sample(CATEGORIES, rng.randint(1, 3))),
            "license": "http://arxiv.org/licenses/nonexclusive-distrib/1.0/",
            "abstract": abstract,
            "versions": versions,
            "update_date": f"20{year + 1:02d}-{month:02d}-{rng.randint(1, 28):02d}",
            "authors_parsed": people,
        }
        yield json.dumps(record)


def write_snapshot(path: Path, count: int, compressed: bool) -> float:
    """Write the synthetic snapshot; returns seconds spent."""
    started = time.perf_counter()
    with (
        gzip.open(path, "wt", encoding="utf-8", compresslevel=1)
        if compressed
        else path.open("w", encoding="utf-8") as handle
    ):
        batch: list[str] = []
        for line in compose_lines(count):
            batch.append(line)
            if len(batch) == 10_000:
                handle.write("\n".join(batch) + "\n")
                batch.clear()
        if batch:
            handle.write("\n".join(batch) + "\n")
    return time.perf_counter() - started


def rss_mb() -> float:
    """Resident memory of this process now, in MB (Linux)."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * resource.getpagesize() / 1e6


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def database_mb(engine: Engine, sqlite_file: Path) -> float:
    """The database's size on disk, in MB: the SQLite file, or PostgreSQL's own count."""
    if engine.dialect.name == "sqlite":
        return sqlite_file.stat().st_size / 1e6
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()) / 1e6


def run(lines: int, compressed: bool, keep: Path | None, database: str = "sqlite") -> None:
    """Write the snapshot, ingest it into a fresh database, print the figures."""
    with tempfile.TemporaryDirectory(prefix="papertide-bench-") as tmp:
        folder = keep or Path(tmp)
        snapshot = folder / ("arxiv-metadata-oai-snapshot.json" + (".gz" if compressed else ""))
        written = write_snapshot(snapshot, lines, compressed)
        with scratch_database(database, folder / "bench.db", folder) as url:
            measure(url, snapshot, lines, compressed, written, folder)


def measure(url: str, snapshot: Path, lines: int, compressed: bool, written: float, folder: Path) -> None:
    """Ingest the written snapshot into the database at ``url`` and print the table."""
    engine = make_engine(url)
    upgrade_database(engine)
    memory_before = rss_mb()
    samples: list[tuple[int, float]] = []
    read, step = 0, max(lines // 10, PROGRESS_EVERY)

    def sample() -> None:
        # Called by the reader every PROGRESS_EVERY lines; one sample per tenth of the file.
        nonlocal read
        read += PROGRESS_EVERY
        if read >= step * (len(samples) + 1):
            samples.append((read, rss_mb()))

    with SnapshotFile(snapshot) as opened:
        source = SnapshotSource(opened.lines, snapshot.name, on_progress=sample)
        started, cpu_started = time.perf_counter(), time.process_time()
        report = run_source(engine, source)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    size = database_mb(engine, folder / "bench.db")
    engine.dispose()
    print(
        f"\nsnapshot: {lines:,} lines, {snapshot.stat().st_size / 1e6:,.0f} MB "
        f"{'gzip' if compressed else 'plain'} (written in {written:.0f} s); "
        f"{engine.dialect.name} database {size:,.0f} MB\n{report.summary()}\n"
    )
    print("| step | papers | wall s | CPU s | papers/s (wall) | papers per CPU-s | RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(f"| before | 0 | | | | | {memory_before:,.0f} |")
    for number, memory in samples:
        print(f"| read {number:,} lines | | | | | | {memory:,.0f} |")
    print(
        f"| **parse + store** | {report.new:,} | {seconds:,.1f} | {cpu:,.1f} | **{report.new / seconds:,.0f}** "
        f"| {report.new / cpu:,.0f} | max {max(m for _, m in samples) if samples else 0:,.0f} |"
    )
    print(f"\npeak RSS of the process (including writing the file): {peak_rss_mb():,.0f} MB")
    if engine.dialect.name != "sqlite":
        print("CPU s is this process's alone: the PostgreSQL server's own CPU is not counted (wall s is the figure)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000, help="snapshot lines to synthesise (default 1 M)")
    parser.add_argument("--gzip", action="store_true", help="write and read the snapshot gzipped")
    parser.add_argument("--keep", type=Path, help="write into this folder and keep the files")
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="a SQLite file, or a database on an embedded PostgreSQL started for the bench (fsync on, as deployed)",
    )
    arguments = parser.parse_args()
    run(arguments.lines, arguments.gzip, arguments.keep, arguments.database)


if __name__ == "__main__":
    main()
