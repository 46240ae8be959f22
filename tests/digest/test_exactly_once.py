"""`papertide digest run` stopped dead at each named fault point, then run again, never loses a digest.

Each run is a real subprocess sending to a real SMTP server (aiosmtpd on loopback) that
records what it accepted and over which connection. ``PAPERTIDE_FAULT=POINT:COUNT``
(domain/faults.py) makes every process of the run ``os._exit`` at its COUNT+1-th pass of
POINT, so each window of docs/digest.md ("Delivery: never lose a digest") is hit on every
machine, with no sleep racing the subprocess. A duplicate is allowed only where the guarantee
allows it (a worker stopped between the server's 250 and its commit, or between the final
dot and reading the reply), at most one per stopped process, and always with the same
Message-ID.
"""

from __future__ import annotations

import email
import email.policy
import os
import random
import subprocess
import sys
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from papertide.domain.faults import DELIVERY_FAULT_POINTS, FAULT_EXIT_CODE
from papertide.store.deliveries import count_deliveries
from papertide.store.engine import make_engine
from papertide.store.schema import digest_outbox, subscribers
from tests.digest.digest_data import NOW, add_subscriber, make_paper, store_papers
from tests.digest.smtp_sink import Received, SmtpSink

# One claim is a batch of up to 200 rows: with more, both processes of a two-process run hold rows.
MANY = 210
FEW = 30


def addresses(count: int) -> list[str]:
    return [f"reader{i:03d}@example.org" for i in range(count)]


@dataclass(frozen=True)
class Run:
    """One finished `papertide digest run` subprocess."""

    returncode: int
    stderr: str

    @property
    def kills(self) -> int:
        """How many of its processes stopped at the fault point (each says so on stderr)."""
        return self.stderr.count("papertide: fault point ")


def environment(database_url: str, data_dir: Path, smtp_url: str, *, workers: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PAPERTIDE_")}
    env.update(
        PAPERTIDE_DATABASE_URL=database_url,
        PAPERTIDE_DATA_DIR=str(data_dir),
        PAPERTIDE_SMTP_URL=smtp_url,
        PAPERTIDE_DIGEST_WORKERS=str(workers),
        PAPERTIDE_SECRET_KEY="exactly-once-test-secret-0123456789",
        PAPERTIDE_BASE_URL="https://papers.example.org",
        PAPERTIDE_MAIL_FROM="papertide <digest@papers.example.org>",
        HF_HUB_OFFLINE="1",
    )
    return env


def run_digest(env: dict[str, str], fault: str | None = None) -> Run:
    command = [sys.executable, "-m", "papertide", "digest", "run", "--now", NOW.isoformat()]
    extra = {"PAPERTIDE_FAULT": fault} if fault else {}
    done = subprocess.run(command, env=env | extra, capture_output=True, timeout=600, check=False)
    return Run(done.returncode, done.stderr.decode(errors="replace"))


def finish(env: dict[str, str]) -> None:
    rerun = run_digest(env)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.kills == 0


def prepare(database_url: str, count: int) -> None:
    engine = make_engine(database_url)
    store_papers(engine, [make_paper(i, upvotes=i) for i in range(1, 15)])
    for address in addresses(count):
        add_subscriber(engine, address, size=5)
    engine.dispose()


def copies_by_address(received: list[Received]) -> dict[str, list[str]]:
    """The Message-IDs each address received, in order of arrival."""
    found: dict[str, list[str]] = {}
    for message in received:
        for address in message.recipients:
            found.setdefault(address, []).append(str(message.parsed()["Message-ID"]))
    return found


def duplicated(received: list[Received]) -> set[str]:
    return {address for address, ids in copies_by_address(received).items() if len(ids) > 1}


def assert_none_lost_and_copies_alike(received: list[Received], count: int) -> None:
    """Every address got its digest; copies of one digest carry one Message-ID; digests' ids differ."""
    copies = copies_by_address(received)
    assert sorted(copies) == addresses(count), f"missing: {sorted(set(addresses(count)) - set(copies))}"
    for address, ids in copies.items():
        assert len(set(ids)) == 1, f"{address} got copies with different Message-IDs: {ids}"
    assert len({ids[0] for ids in copies.values()}) == count


def outbox_states(database_url: str) -> dict[str, int]:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        states = count_deliveries(conn)
    engine.dispose()
    return states


def row_states(database_url: str) -> dict[str, str]:
    """Each address's outbox row state."""
    engine = make_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(subscribers.c.email, digest_outbox.c.state).join(
                subscribers, subscribers.c.id == digest_outbox.c.subscriber_id
            )
        )
        states = {str(email): str(state) for email, state in rows}
    engine.dispose()
    return states


# (point, passes before it fires, delivery processes, addresses that get a second copy)
# One process, FEW subscribers: the third message (reader002) is the one in hand.
# Two processes, MANY subscribers: one holds 200 rows, the other 10, and each stops at its first
# message (reader000 and reader200).
WINDOWS = [
    ("after-claim", 0, 1, set()),
    # The third digest's envelope out, the second one accepted but its record not committed yet.
    ("after-envelope", 2, 1, {"reader001@example.org"}),
    ("after-data", 2, 1, set()),
    ("after-250", 2, 1, {"reader002@example.org"}),
    ("after-commit", 2, 1, set()),
    ("after-claim", 0, 2, set()),
    ("after-data", 0, 2, set()),
    ("after-250", 0, 2, {"reader000@example.org", "reader200@example.org"}),
    ("after-commit", 0, 2, set()),
]


@pytest.mark.parametrize(("point", "passes", "workers", "twice"), WINDOWS, ids=[f"{w[0]}-{w[2]}w" for w in WINDOWS])
def test_a_run_stopped_at_each_fault_point_then_rerun_loses_nothing_and_repeats_only_the_message_in_hand(
    database_url: str, data_dir: Path, smtp_sink: SmtpSink, point: str, passes: int, workers: int, twice: set[str]
) -> None:
    count = MANY if workers == 2 else FEW
    prepare(database_url, count)
    env = environment(database_url, data_dir, smtp_sink.url, workers=workers)
    both_sending = workers == 2 and point != "after-claim"
    if both_sending:
        # Each connection's first MAIL waits for the other's: both processes are mid-message together.
        smtp_sink.behaviour.mail_barrier = 2
    stopped = run_digest(env, f"{point}:{passes}")
    assert stopped.returncode == FAULT_EXIT_CODE, stopped.stderr
    assert not smtp_sink.barrier_timed_out, "both delivery processes should have sent"
    if both_sending:
        assert stopped.kills == 2, stopped.stderr
        assert len(smtp_sink.sessions_without_quit) == 2
    else:
        # after-claim with two processes: the helper may still be starting when the run stops.
        assert 1 <= stopped.kills <= workers, stopped.stderr
    assert outbox_states(database_url).get("sending", 0) > 0, "the stopped run should leave digests in hand"
    finish(env)
    received = smtp_sink.received
    assert_none_lost_and_copies_alike(received, count)
    assert duplicated(received) == twice
    assert len(received) == count + len(twice)
    assert outbox_states(database_url) == {"sent": count}


def test_a_run_stopped_after_the_final_dot_before_the_reply_sends_that_message_at_most_twice(
    database_url: str, data_dir: Path, smtp_sink: SmtpSink
) -> None:
    prepare(database_url, FEW)
    env = environment(database_url, data_dir, smtp_sink.url, workers=1)
    stopped = run_digest(env, "after-dot:2")
    assert (stopped.returncode, stopped.kills) == (FAULT_EXIT_CODE, 1), stopped.stderr
    # The server may or may not have finished the message when the connection died: either is fine.
    assert {m.recipients[0] for m in smtp_sink.received} <= set(addresses(3))
    finish(env)
    received = smtp_sink.received
    assert_none_lost_and_copies_alike(received, FEW)
    assert duplicated(received) <= {"reader002@example.org"}
    assert outbox_states(database_url) == {"sent": FEW}


def read_message(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def recipient(message: EmailMessage) -> str:
    return str(message["To"].addresses[0].addr_spec)


@pytest.mark.parametrize("point", ["after-data", "after-250", "after-commit"])
def test_the_file_outbox_has_each_message_in_place_before_its_row_says_sent_and_a_rerun_fills_the_gaps(
    sqlite_engine: Engine, data_dir: Path, point: str
) -> None:
    url = sqlite_engine.url.render_as_string(hide_password=False)
    prepare(url, FEW)
    env = environment(url, data_dir, "", workers=1)
    stopped = run_digest(env, f"{point}:2")
    assert (stopped.returncode, stopped.kills) == (FAULT_EXIT_CODE, 1), stopped.stderr
    outbox = data_dir / "outbox"
    written = {recipient(read_message(path)) for path in outbox.glob("*.eml")}
    in_hand = "reader002@example.org"
    assert written == set(addresses(2)) | ({in_hand} if point != "after-data" else set())
    states = row_states(url)
    expected = "sent" if point == "after-commit" else "sending"
    assert [states[address] for address in addresses(3)] == ["sent", "sent", expected]
    finish(env)
    messages = [read_message(path) for path in outbox.glob("*.eml")]
    assert sorted(recipient(message) for message in messages) == addresses(FEW)
    assert len({message["Message-ID"] for message in messages}) == FEW
    assert all(path.stat().st_mode & 0o077 == 0 for path in outbox.glob("*.eml")), "messages carry live links"
    assert outbox_states(url) == {"sent": FEW}


def test_runs_stopped_again_and_again_at_random_fault_points_lose_nothing_and_repeat_at_most_one_message_per_stop(
    database_url: str, data_dir: Path, smtp_sink: SmtpSink
) -> None:
    seed = int(os.environ.get("PAPERTIDE_TEST_FAULT_SEED") or random.SystemRandom().randrange(2**32))
    print(f"fault seed {seed} (rerun with PAPERTIDE_TEST_FAULT_SEED={seed})")
    chance = random.Random(seed)
    count = 80
    prepare(database_url, count)
    kills = 0
    for round_number in range(5):
        # Rows left to send (all before the first run): one process claims them all (a claim takes
        # up to 200), so a count below this always fires; a claim is passed once per run.
        left = count - outbox_states(database_url).get("sent", 0)
        point, workers = chance.choice(DELIVERY_FAULT_POINTS), chance.choice((1, 2))
        passes = 0 if point == "after-claim" else chance.randint(0, min(20, left - 1))
        print(f"round {round_number}: {left} left, PAPERTIDE_FAULT={point}:{passes}, {workers} processes")
        env = environment(database_url, data_dir, smtp_sink.url, workers=workers)
        stopped = run_digest(env, f"{point}:{passes}")
        assert stopped.returncode in (1, FAULT_EXIT_CODE), stopped.stderr
        assert stopped.kills >= 1, stopped.stderr
        kills += stopped.kills
    finish(environment(database_url, data_dir, smtp_sink.url, workers=2))
    received = smtp_sink.received
    print(f"{kills} processes stopped; {len(received) - count} second copies")
    assert_none_lost_and_copies_alike(received, count)
    assert len(received) - count <= kills
    assert outbox_states(database_url) == {"sent": count}
