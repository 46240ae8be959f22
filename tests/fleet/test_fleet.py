"""Two `papertide serve` and one `papertide worker` on one PostgreSQL: nothing lost, nothing doubled (issue 14).

Real processes on free ports, as a deployment runs them: server A with two web processes
behind its port and no jobs, server B with the scheduler on, and a worker. Each has its own
data directory (as on separate hosts), so they share only the database and the configured
signing key. The worker ingests the recorded Hugging Face listing from a local HTTP server;
readers sign in, vote and subscribe through both servers, crossing from one to the other
with the same cookies; the digest job is triggered by `papertide jobs trigger` and runs
once, in whichever process wins its lease. Every wait polls a readiness endpoint or a lease
row against a deadline.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select, update

from papertide.store.engine import make_engine
from papertide.store.schema import digest_outbox, papers, subscribers, users, votes
from tests.cli_runner import link_model_cache
from tests.community_flow import form_fields
from tests.digest.smtp_sink import Received, SmtpSink
from tests.fleet.processes import (
    Process,
    clean_environment,
    run_command,
    start,
    wait_for,
    wait_job_finished,
    wait_ready,
)
from tests.ingest.ingest_server import Answer, FeedServer, fixture_bytes, running_server
from tests.ports import free_port

SIGNIN_LINK = re.compile(r"https?://[^/\s]+(/signin/link\?token=[A-Za-z0-9_\-%.]+)")
CONFIRM_LINK = re.compile(r"https?://[^/\s]+(/subscribe/confirm/\S+)")
HF_PAPERS = 3  # entries in the recorded listing


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with running_server() as server:
        server.route(
            "/api/daily_papers", Answer(fixture_bytes("hf_daily_papers.json"), content_type="application/json")
        )
        yield server


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def count(engine: Engine, table: object, *where: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())  # type: ignore[arg-type]


def text_of(message: Received) -> str:
    body = message.parsed().get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def mails_to(sink: SmtpSink, address: str) -> list[Received]:
    return [message for message in sink.received if address in message.recipients]


def newest_link(sink: SmtpSink, address: str, pattern: re.Pattern[str], watched: list[Process]) -> str:
    """The path of the link in the newest mail to ``address`` that has one (waiting for it to arrive)."""

    def find() -> str | None:
        for message in reversed(mails_to(sink, address)):
            found = pattern.search(text_of(message))
            if found:
                return found.group(1)
        return None

    return wait_for(f"a mail with a link to {address}", find, watched)


def sign_in(client: httpx.Client, via: str, then: str, address: str, sink: SmtpSink, watched: list[Process]) -> None:
    """Ask for the link on server ``via``, open it and confirm on server ``then``."""
    _action, fields = form_fields(client.get(f"{via}/signin").text, "form.stack-form")
    asked = client.post(f"{via}/signin", data={**fields, "email": address})
    assert asked.status_code == 200, asked.text
    page = client.get(then + newest_link(sink, address, SIGNIN_LINK, watched))
    assert page.status_code == 200
    _action, fields = form_fields(page.text, "main form")
    done = client.post(f"{then}/signin/link", data=fields, follow_redirects=False)
    assert done.status_code == 303, done.text


def upvote(client: httpx.Client, server: str, arxiv_id: str) -> None:
    action, fields = form_fields(client.get(f"{server}/papers/{arxiv_id}").text, "form[data-vote-form]")
    answer = client.post(f"{server}{action}", data={**fields, "vote": "up"}, headers={"accept": "application/json"})
    assert answer.status_code == 200, answer.text


def subscribe(client: httpx.Client, server: str, address: str) -> None:
    action, fields = form_fields(client.get(f"{server}/").text, "form.subscribe-form")
    answer = client.post(f"{server}{action}", data={**fields, "email": address})
    assert answer.status_code == 200, answer.text


def confirm(client: httpx.Client, server: str, address: str, sink: SmtpSink, watched: list[Process]) -> None:
    opened = client.get(server + newest_link(sink, address, CONFIRM_LINK, watched))
    assert opened.status_code == 200, opened.text
    action, fields = form_fields(opened.text, "main form")
    done = client.post(f"{server}{action}", data=fields, follow_redirects=False)
    assert done.status_code == 303, done.text


@pytest.mark.parametrize("dialect", ["postgres"])
def test_two_servers_and_a_worker_on_postgresql_lose_and_double_nothing(
    database_url: str, db: Engine, sink: SmtpSink, feeds: FeedServer, model_cache: Path, tmp_path: Path
) -> None:
    port_a, port_b = free_port(), free_port()
    server_a, server_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    now = dt.datetime.now(dt.UTC)
    common = {
        "PAPERTIDE_DATABASE_URL": database_url,
        "PAPERTIDE_SECRET_KEY": secrets.token_urlsafe(48),
        "PAPERTIDE_BASE_URL": server_a,
        "PAPERTIDE_SMTP_URL": sink.url,
        "PAPERTIDE_LOG_LEVEL": "WARNING",
        # Subscribers' digests are due this hour, so the triggered run has them to send.
        "PAPERTIDE_DIGEST_DEFAULT_HOUR": str(now.hour),
        "PAPERTIDE_DIGEST_DEFAULT_TIMEZONE": "UTC",
        "PAPERTIDE_DIGEST_SCHEDULE_MINUTES": "1440",
        "PAPERTIDE_INGEST_SCHEDULE_HF_DAILY_MINUTES": "1440",
        "PAPERTIDE_INGEST_HF_DAILY_URL": f"{feeds.url}/api/daily_papers",
        "PAPERTIDE_INGEST_HF_DAILY_DAYS": "1",
        "PAPERTIDE_INGEST_REQUEST_SPACING_S": "0",
        "PAPERTIDE_SCHEDULER_POLL_S": "0.2",
    }
    logs = tmp_path / "logs"

    def host(name: str) -> dict[str, str]:
        # Each host's models folder links the session's export: what is checked here is what the
        # processes store and send, not how a host fills its model cache (tests/search/test_embedder.py).
        data_dir = tmp_path / name
        if not data_dir.exists():
            link_model_cache(data_dir, model_cache)
        return clean_environment({**common, "PAPERTIDE_DATA_DIR": str(data_dir)})

    processes: list[Process] = []
    try:
        # The worker first: it registers the jobs and runs the ingest (and an empty digest) at once.
        worker = start("worker", ["worker"], host("worker"), logs)
        processes.append(worker)
        ingested = wait_job_finished(db, "ingest:hf-daily", now - dt.timedelta(minutes=1), processes)
        assert ingested.last_status == "ok", ingested.last_message
        assert count(db, papers) == HF_PAPERS
        web_a = start("serve-a", ["serve", "--port", str(port_a), "--workers", "2", "--no-jobs"], host("a"), logs)
        web_b = start("serve-b", ["serve", "--port", str(port_b)], host("b"), logs)
        processes += [web_a, web_b]
        wait_ready(web_a, server_a)
        wait_ready(web_b, server_b)
        with db.connect() as conn:
            stored = conn.execute(select(papers.c.arxiv_id, papers.c.title).order_by(papers.c.id)).all()
        arxiv_ids = [row.arxiv_id for row in stored]

        # What the worker stored is searchable on both servers: their indexes follow the database.
        for server in (server_a, server_b):
            found = httpx.get(f"{server}/api/v1/search", params={"q": stored[0].title, "mode": "lexical"}, timeout=60)
            assert found.status_code == 200, found.text
            assert stored[0].arxiv_id in [hit["arxiv_id"] for hit in found.json()["results"]]

        # Sessions and CSRF cross servers: signed in through A, voting through B, and back.
        ada, bob = httpx.Client(timeout=60), httpx.Client(timeout=60)
        sign_in(ada, server_a, server_b, "ada@example.org", sink, processes)
        sign_in(bob, server_b, server_a, "bob@example.org", sink, processes)
        for server in (server_a, server_b, server_a):  # the same vote thrice, on both servers: one row
            upvote(ada, server, arxiv_ids[0])
        upvote(ada, server_b, arxiv_ids[1])
        upvote(bob, server_a, arxiv_ids[1])
        upvote(bob, server_b, arxiv_ids[2])
        assert count(db, users) == 2
        assert count(db, votes) == 4

        # Subscriptions through either server; the same address twice is one subscriber.
        reader = httpx.Client(timeout=60)
        subscribe(reader, server_a, "cy@example.org")
        subscribe(reader, server_b, "di@example.org")
        subscribe(reader, server_a, "ed@example.org")
        subscribe(reader, server_b, "ed@example.org")
        confirm(reader, server_b, "cy@example.org", sink, processes)
        confirm(reader, server_a, "di@example.org", sink, processes)
        confirm(reader, server_a, "ed@example.org", sink, processes)
        assert count(db, subscribers) == 3
        assert count(db, subscribers, subscribers.c.status == "confirmed") == 3
        # A slot before confirming is never sent (digest/schedule.py): as if they had confirmed yesterday,
        # this hour's slot is their first digest.
        with db.begin() as conn:
            conn.execute(update(subscribers).values(confirmed_at=now - dt.timedelta(days=1)))

        # The digest job, triggered: the worker and server B both poll for it; one lease, one run.
        before = len(sink.received)
        triggered_at = dt.datetime.now(dt.UTC)
        env = host("cli")
        done = run_command(["jobs", "trigger", "digest"], env)
        assert done.returncode == 0, done.stderr
        ran = wait_job_finished(db, "digest", triggered_at, processes)
        assert ran.last_status == "ok", ran.last_message
        digests = sink.received[before:]
        addresses = sorted(address for message in digests for address in message.recipients)
        assert addresses == ["cy@example.org", "di@example.org", "ed@example.org"]
        assert len({str(message.parsed()["Message-ID"]) for message in digests}) == 3
        assert count(db, digest_outbox, digest_outbox.c.state == "sent") == 3

        # Triggered again: the same period is sent already, so nothing goes out twice.
        again_at = dt.datetime.now(dt.UTC)
        assert run_command(["jobs", "trigger", "digest"], env).returncode == 0
        wait_job_finished(db, "digest", again_at, processes)
        assert len(sink.received) == before + 3
        assert count(db, digest_outbox) == 3
        for process in processes:
            process.check_alive()
    finally:
        codes = {process.name: process.stop() for process in reversed(processes)}
    # A clean stop: exit 0, or (single-process uvicorn re-raises the signal it handled) "ended by SIGTERM",
    # which systemd also counts as a clean exit.
    assert set(codes.values()) <= {0, -signal.SIGTERM}, (codes, "\n".join(p.output() for p in processes))
