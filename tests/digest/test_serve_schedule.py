"""`papertide serve` runs the digest as a scheduled job, under the scheduler's lease, without the web app."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

from sqlalchemy import Engine

from papertide.config import Settings
from papertide.jobs import Scheduler
from papertide.services import Services
from tests.digest.digest_data import add_subscriber, make_paper, store_papers


def test_the_scheduler_runs_the_digest_job_which_sends_what_is_due(
    settings: Settings, sqlite_engine: Engine, data_dir: Path
) -> None:
    today = dt.datetime.now(dt.UTC)
    store_papers(sqlite_engine, [make_paper(1, upvotes=2, listed_on=today.date())], now=today)
    add_subscriber(sqlite_engine, "ada@example.org", hour=today.hour, since=today - dt.timedelta(days=2))
    jobs = [job for job in Services(settings).scheduled_jobs() if job.name == "digest"]
    assert [job.interval for job in jobs] == [dt.timedelta(minutes=settings.digest_schedule_minutes)]
    result = jobs[0].run(threading.Event())
    assert result.ok, result.message
    assert "1 sent" in result.message
    assert len(list((data_dir / "outbox").glob("*.eml"))) == 1
    assert Scheduler(sqlite_engine, jobs).run_due() == ["digest"]
    assert len(list((data_dir / "outbox").glob("*.eml"))) == 1


def test_a_schedule_of_zero_minutes_leaves_the_digest_to_cron(settings: Settings, sqlite_engine: Engine) -> None:
    quiet = settings.model_copy(update={"digest_schedule_minutes": 0})
    assert "digest" not in [job.name for job in Services(quiet).scheduled_jobs()]
