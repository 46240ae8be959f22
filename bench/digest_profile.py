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

    .venv/bin/python -m bench.digest_profile --subscribers 5000 --folder /tmp/profile
    .venv/bin/python -m bench.digest_profile --subscribers 5000 --database postgresql
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import importlib
import multiprocessing
import pstats
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.digest import Data, free_port, postgres_server, store_topic_vectors
from bench.digest_corpus import NOW, bench_settings, build_corpus
from bench.postfix import Sink, cache_folder, find_postfix_tools
from papertide.digest.job import run_digest
from papertide.services import Services

# Phase -> the (module, owner, attribute) whose calls make it; time in a nested phase counts there only.
PHASES: dict[str, list[tuple[str, str | None, str]]] = {
    "planning: topic matching": [("papertide.digest.plan", "TopicCache", "ensure")],
    "planning: selection": [
        ("papertide.digest.plan", None, "choose_papers"),
        ("papertide.digest.plan", "SelectionCache", "select"),
        ("papertide.digest.plan", None, "pool_reason"),
    ],
    "planning: reads": [
        ("papertide.digest.plan", None, name)
        for name in (
            "list_subscribers",
            "list_planned",
            "list_sent_papers",
            "list_followed_names_by_email",
            "fetch_pool",
        )
    ],
    "planning: writes": [("papertide.digest.plan", None, "write_planned")],
    "planning: writes (last digest sent)": [("papertide.digest.plan", None, "write_last_digest")],
    "delivery: claims and loads": [
        ("papertide.digest.deliver", None, "claim_batch"),
        ("papertide.digest.deliver", "Delivery", "_load"),
        ("papertide.digest.deliver", "Delivery", "take_over_gone_workers"),
    ],
    # The previous message's "sent" record rides in the next held check's transaction (digest/outcome.py).
    "delivery: held check + record sent": [("papertide.digest.outcome", "Outcomes", "check_held")],
    "delivery: compose": [("papertide.digest.compose", "MailComposer", "compose_digest")],
    "delivery: SMTP": [("papertide.mail.transport", "SmtpTransport", "send")],
    "delivery: record sent alone (batch end, stop)": [("papertide.digest.outcome", "Outcomes", "flush")],
}


class PhaseTimer:
    """Exclusive CPU seconds (``time.process_time``) and wall seconds per phase, by wrapping the phases' functions."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        self.wall: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        # Per open call: CPU and wall clock at entry, then the CPU and wall of the nested phases.
        self.stack: list[list[float]] = []

    def wrap(self, phase: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            frame = [time.process_time(), time.perf_counter(), 0.0, 0.0]
            self.stack.append(frame)
            try:
                return function(*args, **kwargs)
            finally:
                self.stack.pop()
                spent = time.process_time() - frame[0]
                waited = time.perf_counter() - frame[1]
                self.seconds[phase] += spent - frame[2]
                self.wall[phase] += waited - frame[3]
                if self.stack:
                    self.stack[-1][2] += spent
                    self.stack[-1][3] += waited

        return timed

    def install(self) -> None:
        for phase, places in PHASES.items():
            for module_name, owner_name, attribute in places:
                module = importlib.import_module(module_name)
                owner = getattr(module, owner_name, None) if owner_name else module
                if owner is None or not hasattr(owner, attribute):
                    continue  # a phase function of another version of the code
                setattr(owner, attribute, self.wrap(phase, getattr(owner, attribute)))

    def table(self, messages: int, total: float, total_wall: float) -> str:
        per = 1000 / max(messages, 1)
        lines = [f"{'phase':46} {'CPU s':>7} {'ms/msg':>7} {'wall s':>7} {'ms/msg':>7}"]
        rest = ("other (run loop, pool, progress)", total - sum(self.seconds.values()))
        rest_wall = total_wall - sum(self.wall.values())
        for phase, seconds in [*self.seconds.items(), rest]:
            wall = self.wall.get(phase, rest_wall)
            lines.append(f"{phase:46} {seconds:7.2f} {seconds * per:7.3f} {wall:7.2f} {wall * per:7.3f}")
        lines.append(f"{'whole run':46} {total:7.2f} {total * per:7.3f} {total_wall:7.2f} {total_wall * per:7.3f}")
        return "\n".join(lines)


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
    parser.add_argument("--cprofile", action="store_true", help="cProfile's function list instead of phases")
    parser.add_argument("--top", type=int, default=40, help="functions listed by own time (with --cprofile)")
    args = parser.parse_args()
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
            settings = bench_settings(run, smtp_url=f"smtp://127.0.0.1:{port}", digest_workers=1, **database)
            services = Services(settings)
            matcher = services.topic_matcher()
            timer = PhaseTimer()
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
        finally:
            sink.stop()
    day = "first run (every topic embedded)" if args.first_run else "a normal day (topic vectors stored before)"
    print(f"[{args.database}, {day}] {report.summary()}")
    if args.cprofile:
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)
    else:
        print(timer.table(report.delivery.sent, cpu, wall))


if __name__ == "__main__":
    main()
