"""Load benchmark: N concurrent clients for T seconds against a real `papertide serve` (issue 9).

Starts `papertide serve` as a subprocess on a free loopback port, on SQLite and on PostgreSQL
(an embedded server, as tests/postgres_server.py starts one), with the bundled sample corpus.
Each client (httpx async) signs in through the real flow (a sign-in link stored in the
database, the link page, its form) and then loops over a weighted mix: the home page, search
in every mode, paper pages, the period lists, feeds, upvotes and digest sign-ups. It prints
one table per database: requests, errors (any 5xx, transport error or unexpected status),
throughput and p50/p95/p99 per route, beside the `/healthz` round trip as the baseline.

    .venv/bin/python -m bench.load                            # 50 clients, 60 s, SQLite then PostgreSQL
    .venv/bin/python -m bench.load --clients 4 --seconds 5 --database sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import select

from bench.databases import scratch_database
from papertide.store.accounts import create_login_token
from papertide.store.engine import begin_write, make_engine
from papertide.store.schema import papers

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
QUERIES = ["diffusion models", "reinforcement learning agents", '"large language"', "vision cat:cs.CV", "robot"]
# Statuses each route may answer under load without it counting as an error (a vote toggles, a
# sign-up is accepted): anything else, and any 5xx, is an error.
EXPECTED = {200, 202, 303}


@dataclass
class Samples:
    """Latencies (seconds) and error count of one route."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""


@dataclass
class Client:
    """One simulated visitor: its HTTP client and the CSRF token bound to its cookie."""

    http: httpx.AsyncClient
    csrf: str = ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _papertide(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "papertide", *args], env=env, check=True, capture_output=True, text=True
    )


@contextmanager
def _server(url: str, workdir: Path, clients: int, workers: int) -> Iterator[tuple[str, dict[str, str]]]:
    """`papertide serve --workers N` on a free port with the sample corpus; yields its base URL and environment."""
    port = _free_port()
    env = {
        **os.environ,
        "PAPERTIDE_DATA_DIR": str(workdir / "data"),
        "PAPERTIDE_DATABASE_URL": url,
        "PAPERTIDE_BASE_URL": f"http://127.0.0.1:{port}",
        "PAPERTIDE_LOG_LEVEL": "WARNING",
        "PAPERTIDE_SCHEDULER_ENABLED": "false",
        # Limits meant for people, not for a benchmark whose clients all share one address.
        "PAPERTIDE_VOTES_PER_USER": "1000000",
        "PAPERTIDE_DIGEST_CONFIRMATIONS_PER_CLIENT": "1000000",
        "PAPERTIDE_DIGEST_CONFIRMATIONS_PER_ADDRESS": "1000000",
        "PAPERTIDE_SIGNIN_MAILS_PER_CLIENT": str(10 * clients + 100),
    }
    _papertide("init", "--sample", env=env)
    address = ["--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        [sys.executable, "-m", "papertide", "serve", *address, "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base, env
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_until_up(base: str, process: subprocess.Popen[str]) -> None:
    # Polls the health check: the process reports being ready only by answering it.
    for _ in range(600):
        if process.poll() is not None:
            raise SystemExit(f"papertide serve exited: {process.stderr.read() if process.stderr else ''}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("papertide serve did not answer /healthz within 120 s")


def _login_tokens(url: str, count: int) -> list[str]:
    """Sign-in links stored as the sign-in form stores them (the mail is skipped, not the flow)."""
    engine = make_engine(url)
    now = dt.datetime.now(dt.UTC)
    with begin_write(engine) as conn:
        tokens = [
            create_login_token(conn, f"bench{i}@example.org", now=now, lifetime=dt.timedelta(hours=1))
            for i in range(count)
        ]
    engine.dispose()
    return tokens


def _paper_ids(url: str) -> list[str]:
    engine = make_engine(url)
    with engine.connect() as conn:
        ids = [str(row[0]) for row in conn.execute(select(papers.c.arxiv_id).limit(2000))]
    engine.dispose()
    return ids


async def _sign_in(client: Client, token: str) -> None:
    page = await client.http.get("/signin/link", params={"token": token})
    match = CSRF_INPUT.search(page.text)
    if page.status_code != 200 or match is None:
        raise SystemExit(f"sign-in link page answered {page.status_code}")
    client.csrf = match.group(1)
    done = await client.http.post("/signin/link", data={"token": token, "csrf_token": client.csrf})
    if done.status_code != 303:
        raise SystemExit(f"signing in answered {done.status_code}")


Action = Callable[[Client, random.Random], Awaitable[tuple[str, httpx.Response]]]


def _actions(paper_ids: list[str]) -> list[tuple[int, Action]]:
    """(weight, action): what a visitor does, roughly as often as people do it."""

    async def home(c: Client, r: random.Random) -> tuple[str, httpx.Response]:
        return "GET /", await c.http.get("/")

    def search(mode: str) -> Action:
        async def run(c: Client, r: random.Random) -> tuple[str, httpx.Response]:
            return f"GET /search ({mode})", await c.http.get("/search", params={"q": r.choice(QUERIES), "mode": mode})

        return run

    async def api_search(c: Client, r: random.Random) -> tuple[str, httpx.Response]:
        return "GET /api/v1/search", await c.http.get("/api/v1/search", params={"q": r.choice(QUERIES)})

    async def paper(c: Client, r: random.Random) -> tuple[str, httpx.Response]:
        return "GET /papers/{id}", await c.http.get(f"/papers/{r.choice(paper_ids)}")

    async def period(c: Client, r: random.Random) -> tuple[str, httpx.Response]:
        # The latest day, week or month with papers (a redirect to it, then the list).
        kind = r.choice(["date", "week", "month"])
        return f"GET /papers/{kind}", await c.http.get(f"/papers/{kind}", follow_redirects=True)

    async def feed(c: Client, r: random.Random) -> tuple[str, httpx.Response]:
        path = r.choice(["/feeds/trending.atom", "/feeds/trending.rss"])
        return "GET /feeds/trending.*", await c.http.get(path)

    async def search_feed(c: Client, r: random.Random) -> tuple[str, httpx.Response]:
        return "GET /search.atom", await c.http.get("/search.atom", params={"q": r.choice(QUERIES)})

    async def vote(c: Client, r: random.Random) -> tuple[str, httpx.Response]:
        arxiv_id = r.choice(paper_ids)
        response = await c.http.post(
            f"/papers/{arxiv_id}/vote", data={"vote": r.choice(["up", "down"]), "csrf_token": c.csrf}
        )
        return "POST /papers/{id}/vote", response

    async def subscribe(c: Client, r: random.Random) -> tuple[str, httpx.Response]:
        address = f"reader{r.randrange(10**9)}@example.org"
        return "POST /api/v1/subscriptions", await c.http.post("/api/v1/subscriptions", json={"email": address})

    return [
        (10, home),
        (6, search("hybrid")),
        (3, search("lexical")),
        (2, search("semantic")),
        (2, api_search),
        (10, paper),
        (4, period),
        (2, feed),
        (1, search_feed),
        (4, vote),
        (1, subscribe),
    ]


async def _healthz(c: Client, r: random.Random) -> tuple[str, httpx.Response]:
    return "GET /healthz (baseline)", await c.http.get("/healthz")


async def _visitor(
    client: Client, actions: list[tuple[int, Action]], seed: int, until: float, results: dict[str, Samples]
) -> None:
    rng = random.Random(seed)
    weights = [weight for weight, _ in actions]
    steps = [action for _, action in actions]
    while time.monotonic() < until:
        # One baseline round trip in ten, so the building block is measured under the same load.
        action = _healthz if rng.random() < 0.1 else rng.choices(steps, weights)[0]
        start = time.perf_counter()
        try:
            name, response = await action(client, rng)
        except httpx.HTTPError as error:
            samples = results[f"{action.__name__} (transport)"]
            samples.errors += 1
            samples.first_error = samples.first_error or repr(error)
            continue
        samples = results[name]
        samples.latencies.append(time.perf_counter() - start)
        if response.status_code not in EXPECTED:
            samples.errors += 1
            samples.first_error = samples.first_error or f"{response.status_code}: {response.text[:120]!r}"


async def _run_load(base: str, url: str, clients: int, seconds: float, seed: int) -> tuple[dict[str, Samples], float]:
    tokens = _login_tokens(url, clients)
    actions = _actions(_paper_ids(url))
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    visitors = [
        Client(httpx.AsyncClient(base_url=base, timeout=60, limits=limits, follow_redirects=False))
        for _ in range(clients)
    ]
    results: dict[str, Samples] = defaultdict(Samples)
    try:
        await asyncio.gather(*(_sign_in(visitor, token) for visitor, token in zip(visitors, tokens, strict=True)))
        start = time.monotonic()
        until = start + seconds
        await asyncio.gather(
            *(_visitor(visitor, actions, seed + i, until, results) for i, visitor in enumerate(visitors))
        )
        elapsed = time.monotonic() - start
    finally:
        await asyncio.gather(*(visitor.http.aclose() for visitor in visitors))
    return results, elapsed


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def _print_table(title: str, results: dict[str, Samples], elapsed: float) -> int:
    print(f"\n{title}: {elapsed:.1f} s")
    header = f"{'route':<32} {'requests':>9} {'errors':>7} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    print(header)
    print("-" * len(header))
    total_errors = 0
    total_requests = 0
    for name in sorted(results, key=lambda key: (not key.startswith("GET /healthz"), key)):
        samples = results[name]
        count = len(samples.latencies)
        total_errors += samples.errors
        total_requests += count
        p50, p95, p99 = (1000 * _percentile(samples.latencies, f) for f in (0.5, 0.95, 0.99))
        print(f"{name:<32} {count:>9} {samples.errors:>7} {count / elapsed:>8.1f} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f}")
    print(f"{'all':<32} {total_requests:>9} {total_errors:>7} {total_requests / elapsed:>8.1f}")
    for name, samples in results.items():
        if samples.first_error:
            print(f"  first error on {name}: {samples.first_error}")
    return total_errors


def main(argv: list[str] | None = None) -> int:
    """Run the load on each database asked for; exit 1 when any request failed."""
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the load runs (default 60)")
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1, help="web processes of `papertide serve` (default 1)")
    args = parser.parse_args(argv)
    kinds = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    errors = 0
    for kind in kinds:
        workdir = Path(tempfile.mkdtemp(prefix=f"papertide-load-{kind}-"))
        try:
            with (
                scratch_database(kind, workdir / "data" / "papertide.db", workdir) as url,
                _server(url, workdir, args.clients, args.workers) as (base, _env),
            ):
                results, elapsed = asyncio.run(_run_load(base, url, args.clients, args.seconds, args.seed))
            errors += _print_table(f"{kind}, {args.clients} clients, {args.workers} web processes", results, elapsed)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
