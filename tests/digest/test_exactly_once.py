"""`papertide digest run` killed with SIGKILL at any moment, then run again, neither loses nor duplicates a mail.

The run is a real subprocess sending to a real SMTP server (aiosmtpd on loopback) that counts
what it accepted; the server is slowed a little so that kills land mid-run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from papertide.store.engine import make_engine
from papertide.store.schema import digest_outbox
from tests.digest.digest_data import NOW, add_subscriber, make_paper, store_papers
from tests.digest.smtp_sink import SmtpSink

SUBSCRIBERS = 150


def environment(database_url: str, data_dir: Path, smtp_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PAPERTIDE_")}
    env.update(
        PAPERTIDE_DATABASE_URL=database_url,
        PAPERTIDE_DATA_DIR=str(data_dir),
        PAPERTIDE_SMTP_URL=smtp_url,
        PAPERTIDE_SECRET_KEY="exactly-once-test-secret-0123456789",
        PAPERTIDE_BASE_URL="https://papers.example.org",
        PAPERTIDE_MAIL_FROM="papertide <digest@papers.example.org>",
        HF_HUB_OFFLINE="1",
    )
    return env


def start_run(env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "papertide", "digest", "run", "--now", NOW.isoformat()]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_until(condition: object, process: subprocess.Popen[bytes], limit_s: float = 120) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():  # type: ignore[operator]
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.002)


def kill(process: subprocess.Popen[bytes]) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


def finish(env: dict[str, str]) -> None:
    process = start_run(env)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr.decode()


def prepare(database_url: str, sink: SmtpSink) -> None:
    engine = make_engine(database_url)
    store_papers(engine, [make_paper(i, upvotes=i) for i in range(1, 15)])
    for i in range(SUBSCRIBERS):
        add_subscriber(engine, f"reader{i:03d}@example.org", size=5)
    engine.dispose()
    sink.behaviour.data_delay_s = 0.003


def assert_each_received_exactly_once(sink: SmtpSink) -> None:
    received = sink.received
    assert Counter(r for message in received for r in message.recipients) == Counter(
        {f"reader{i:03d}@example.org": 1 for i in range(SUBSCRIBERS)}
    )
    message_ids = [message.parsed()["Message-ID"] for message in received]
    assert len(set(message_ids)) == SUBSCRIBERS


def outbox_rows(database_url: str) -> int:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        count = int(conn.execute(select(func.count()).select_from(digest_outbox)).scalar_one())
    engine.dispose()
    return count


@pytest.mark.parametrize("kill_after", [0, 1, 60, 140], ids=["while-planning", "first-mail", "mid-run", "near-end"])
def test_a_killed_run_then_a_rerun_delivers_every_digest_exactly_once(
    database_url: str, data_dir: Path, smtp_sink: SmtpSink, kill_after: int
) -> None:
    prepare(database_url, smtp_sink)
    env = environment(database_url, data_dir, smtp_sink.url)
    process = start_run(env)
    if kill_after == 0:
        wait_until(lambda: outbox_rows(database_url) > 0, process)
    else:
        wait_until(lambda: len(smtp_sink.received) >= kill_after, process)
    kill(process)
    assert len(smtp_sink.received) < SUBSCRIBERS, "the kill should land before the run finished"
    finish(env)
    assert_each_received_exactly_once(smtp_sink)


def test_runs_killed_again_and_again_at_random_moments_still_deliver_each_digest_once(
    database_url: str, data_dir: Path, smtp_sink: SmtpSink
) -> None:
    prepare(database_url, smtp_sink)
    env = environment(database_url, data_dir, smtp_sink.url)
    chance = random.Random(6)
    for _ in range(4):
        process = start_run(env)
        # Kill a random number of mails into the run: inside SMTP transactions as often as between them.
        target = len(smtp_sink.received) + chance.randint(1, 25)
        deadline = time.monotonic() + 120
        while process.poll() is None and len(smtp_sink.received) < target and time.monotonic() < deadline:
            time.sleep(chance.uniform(0, 0.004))
        if process.poll() is None:
            kill(process)
    finish(env)
    assert_each_received_exactly_once(smtp_sink)
