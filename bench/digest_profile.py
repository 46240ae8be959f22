"""CPU profile of one digest run by phase (issue 13): where papertide's own CPU goes per message.

Builds (or reuses, with --folder) bench/digest_corpus.py's data directory, starts Postfix's
smtp-sink, and runs the product's digest run in this one process (PAPERTIDE_DIGEST_WORKERS=1,
so every phase runs here), timing each phase's CPU and wall time; ``--cprofile`` lists functions
instead. CPU time (``time.process_time``) does not depend on what else the machine runs, unlike
wall-clock figures; but on PostgreSQL (``--database postgresql``: an embedded server started as
bench/digest.py starts one, the corpus built in it) the server's own work and the round trips
to it show only in the wall time, so both columns are printed. Like bench/digest.py it times a
normal day (the topics' vectors stored before the run, as the previous day's run leaves them);
``--first-run`` times a run that embeds every topic.

``--workers N`` runs the product's run with N delivery processes, as bench/digest.py does (the run's
own process plans, then delivers; N - 1 helpers deliver from the start): the run's process is timed
as above and each helper by bench/phaseprobe (the same phases, in that process), so the table shows
what delivery costs per message where it mostly runs, beside other processes on the same cores,
and what a helper spends before its first message (start-up).

    .venv/bin/python -m bench.digest_profile --subscribers 5000 --folder /tmp/profile
    .venv/bin/python -m bench.digest_profile --subscribers 20000 --folder /tmp/profile --workers 4
    .venv/bin/python -m bench.digest_profile --subscribers 5000 --database postgresql
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing
import os
import pstats
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.digest import Data, free_port, postgres_server, store_topic_vectors
from bench.digest_corpus import NOW, bench_settings, build_corpus
from bench.digest_phases import PHASES, PhaseTimer, count_sent
from bench.postfix import Sink, cache_folder, find_postfix_tools
from papertide.digest.job import run_digest
from papertide.services import Services


@contextmanager
def database_for(database: str, work: Path) -> Iterator[str]:
    """An empty database to build the corpus in: a PostgreSQL one on an embedded server; "" for SQLite."""
    if database == "sqlite":
        yield ""
        return
    from tests.postgres_server import create_database

    with postgres_server(work) as base_url:
        yield create_database(base_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=5000)
    parser.add_argument("--papers", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--folder", type=Path, help="keep the built corpus here and reuse it on later runs (SQLite only)"
    )
    parser.add_argument(
        "--first-run",
        action="store_true",
        help="no topic vector stored before the run (every topic embedded in it); default: a normal day",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="delivery processes (PAPERTIDE_DIGEST_WORKERS); above 1 the helpers are timed too (bench/phaseprobe)",
    )
    parser.add_argument("--cprofile", action="store_true", help="cProfile's function list instead of phases")
    parser.add_argument("--top", type=int, default=40, help="functions listed by own time (with --cprofile)")
    args = parser.parse_args()
    if args.cprofile and args.workers > 1:
        parser.error("--cprofile lists the run's own process only: use it with --workers 1")
    if args.folder and args.database == "postgresql":
        # The embedded server and its database live only as long as this command.
        parser.error("--folder keeps a SQLite corpus only; on PostgreSQL the corpus is built for each run")
    tools = find_postfix_tools(None)
    profile = cProfile.Profile(time.process_time)
    with tempfile.TemporaryDirectory(prefix="papertide-profile-") as tmp, database_for(args.database, Path(tmp)) as url:
        built = args.folder or Path(tmp) / "built"
        if not built.exists():
            context = multiprocessing.get_context("spawn")
            child = context.Process(
                target=build_corpus,
                args=(built, args.subscribers, args.papers, args.seed, cache_folder() / "models", url),
            )
            child.start()
            child.join()
            if child.exitcode != 0:
                raise SystemExit("setup failed")
        run = Path(tmp) / "run"
        shutil.copytree(built, run, symlinks=True)
        if not args.first_run:
            store_topic_vectors(Data(run, url))  # as the day before's run left them (bench/digest.py)
        port = free_port()
        sink = Sink(tools, port, Path(tmp))
        try:
            database = {"database_url": url} if url else {}
            settings = bench_settings(run, smtp_url=f"smtp://127.0.0.1:{port}", digest_workers=args.workers, **database)
            probes = Path(tmp) / "phaseprobe"
            if args.workers > 1:
                probes.mkdir()
                probe_path(probes)
            services = Services(settings)
            matcher = services.topic_matcher()
            timer = PhaseTimer()
            sent = [0]
            count_sent(sent)
            if args.cprofile:
                profile.enable()
            else:
                timer.install()
            cpu = time.process_time()
            wall = time.perf_counter()
            report = run_digest(
                services.engine,
                services.transports,
                services.new_composer(),
                now=NOW,
                policy=services.digest_policy,
                matcher=matcher,
            )
            wall = time.perf_counter() - wall
            cpu = time.process_time() - cpu
            profile.disable()
            services.engine.dispose()
            helpers = [json.loads(path.read_text()) for path in sorted(probes.glob("helper-*.json"))]
        finally:
            sink.stop()
    day = "first run (every topic embedded)" if args.first_run else "a normal day (topic vectors stored before)"
    print(f"[{args.database}, {day}] {report.summary()}")
    if args.cprofile:
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)
    elif args.workers == 1:
        print(timer.table(report.delivery.sent, cpu, wall))
    else:
        print(f"the run's own process: planning, then {sent[0]} digests sent")
        print(timer.table(sent[0], cpu, wall))
        print(helpers_table(helpers))
        everything = cpu + sum(helper["cpu"] for helper in helpers)
        per = everything / max(report.delivery.sent, 1) * 1000
        print(f"all processes: {everything:.2f} s of CPU, {per:.3f} ms per message")


def probe_path(folder: Path) -> None:
    """Make the helpers this process spawns from now on load bench/phaseprobe, writing into ``folder``."""
    probe = Path(__file__).resolve().parent / "phaseprobe"
    root = probe.parent.parent
    inherited = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join(part for part in (str(probe), str(root), inherited) if part)
    os.environ["PHASEPROBE"] = str(folder)


def helpers_table(helpers: list[dict[str, Any]]) -> str:
    """The helpers' phases summed, per message they sent; start-up (CPU before the first claim) apart."""
    messages = sum(helper["sent"] for helper in helpers)
    per = 1000 / max(messages, 1)
    lines = [f"{len(helpers)} helpers: {messages} digests sent"]
    lines.append(f"{'phase':46} {'CPU s':>7} {'ms/msg':>7} {'wall s':>7}")
    start = sum(helper["start_cpu"] for helper in helpers)
    total = sum(helper["cpu"] for helper in helpers)
    lines.append(f"{'start-up (before the first claim)':46} {start:7.2f} {start * per:7.3f}")
    timed = 0.0
    for phase in PHASES:
        seconds = sum(helper["seconds"][phase] for helper in helpers)
        wall = sum(helper["wall"][phase] for helper in helpers)
        timed += seconds
        if seconds or wall:
            lines.append(f"{phase:46} {seconds:7.2f} {seconds * per:7.3f} {wall:7.2f}")
    rest = total - start - timed
    lines.append(f"{'other (loop, waiting for planning, exit)':46} {rest:7.2f} {rest * per:7.3f}")
    lines.append(f"{'helpers in all':46} {total:7.2f} {total * per:7.3f}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
