"""The scheduler of `papertide serve`: database leases, intervals, failures, ingestion jobs."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator, Sequence

import pytest
from sqlalchemy import Engine

from papertide.config import Settings
from papertide.jobs import Job, JobResult, Scheduler
from papertide.services import Services
from papertide.store.leases import claim_job, ensure_job, list_jobs
from papertide.store.papers import get_paper_by_arxiv_id
from tests.ingest.ingest_server import Answer, FeedServer, fixture_bytes, running_server

START = dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_server() as running:
        yield running


def counting_job(runs: list[str], name: str = "count") -> Job:
    def run(stop: threading.Event) -> JobResult:
        runs.append(name)
        return JobResult(True, f"run {len(runs)}")

    return Job(name, HOUR, run)


def test_two_processes_never_run_the_same_job_at_once(engine: Engine) -> None:
    started, release = threading.Event(), threading.Event()
    runs: list[str] = []

    def slow(stop: threading.Event) -> JobResult:
        runs.append("slow")
        started.set()
        release.wait(10)
        return JobResult(True)

    clock = Clock()
    first = Scheduler(engine, [Job("slow", HOUR, slow)], holder="web-1", clock=clock)
    second = Scheduler(engine, [Job("slow", HOUR, slow)], holder="web-2", clock=clock)
    worker = threading.Thread(target=first.run_due)
    worker.start()
    assert started.wait(10)
    ran_meanwhile = second.run_due()
    release.set()
    worker.join(10)
    assert ran_meanwhile == [] and runs == ["slow"]
    (state,) = list_jobs(engine)
    assert state.holder is None and state.last_status == "ok"


def test_a_job_runs_again_only_after_its_interval(engine: Engine) -> None:
    clock, runs = Clock(), []
    scheduler = Scheduler(engine, [counting_job(runs)], holder="web-1", clock=clock)
    assert scheduler.run_due() == ["count"]
    clock.now += dt.timedelta(minutes=59)
    assert scheduler.run_due() == []
    clock.now += dt.timedelta(minutes=1)
    assert scheduler.run_due() == ["count"]
    (state,) = list_jobs(engine)
    assert state.next_run_at == START + 2 * HOUR and state.last_message == "run 2"


def test_a_restarted_process_keeps_the_schedule_of_the_last_one(engine: Engine) -> None:
    clock, runs = Clock(), []
    Scheduler(engine, [counting_job(runs)], holder="old", clock=clock).run_due()
    clock.now += dt.timedelta(minutes=10)
    assert Scheduler(engine, [counting_job(runs)], holder="new", clock=clock).run_due() == []
    assert runs == ["count"]


def test_the_lease_of_a_dead_process_is_taken_over_once_it_expires(engine: Engine) -> None:
    clock, runs = Clock(), []
    ensure_job(engine, "count", START)
    assert claim_job(engine, "count", "crashed", START, dt.timedelta(minutes=5))
    scheduler = Scheduler(engine, [counting_job(runs)], holder="web-2", clock=clock, lease=dt.timedelta(minutes=5))
    assert scheduler.run_due() == []
    clock.now += dt.timedelta(minutes=6)
    assert scheduler.run_due() == ["count"]


def test_a_failing_job_is_recorded_and_the_others_still_run(engine: Engine) -> None:
    runs: list[str] = []

    def broken(stop: threading.Event) -> JobResult:
        raise RuntimeError("source exploded")

    scheduler = Scheduler(engine, [Job("broken", HOUR, broken), counting_job(runs)], holder="web-1", clock=Clock())
    assert scheduler.run_due() == ["broken", "count"]
    states = {state.name: state for state in list_jobs(engine)}
    assert states["broken"].last_status == "failed"
    assert states["broken"].last_message == "RuntimeError: source exploded"
    assert states["count"].last_status == "ok"


def test_stopping_the_scheduler_ends_a_running_job(engine: Engine) -> None:
    running = threading.Event()

    def waits_for_stop(stop: threading.Event) -> JobResult:
        running.set()
        return JobResult(stop.wait(30), "stopped")

    scheduler = Scheduler(engine, [Job("long", HOUR, waits_for_stop)], holder="web-1", poll_s=0.05)
    scheduler.start()
    assert running.wait(10)
    scheduler.stop(timeout_s=10)
    (state,) = list_jobs(engine)
    assert state.holder is None and state.last_status == "ok" and state.last_message == "stopped"


def test_settings_switch_on_the_ingest_jobs_that_have_an_interval(settings: Settings, sqlite_engine: Engine) -> None:
    configured = settings.model_copy(
        update={"ingest_schedule_oai_minutes": 1440, "ingest_schedule_hf_daily_minutes": 60}
    )
    jobs = {job.name: job.interval for job in Services(configured).scheduled_jobs()}
    assert {name: interval for name, interval in jobs.items() if name.startswith("ingest:")} == {
        "ingest:oai": dt.timedelta(days=1),
        "ingest:hf-daily": dt.timedelta(hours=1),
    }
    assert not [job for job in Services(settings).scheduled_jobs() if job.name.startswith("ingest:")]


def test_a_scheduled_hf_daily_job_stores_papers_and_indexes_them(
    settings: Settings, sqlite_engine: Engine, server: FeedServer
) -> None:
    url = server.route("/api/daily_papers", Answer(fixture_bytes("hf_daily_papers.json")))
    configured = settings.model_copy(
        update={
            "ingest_hf_daily_url": url,
            "ingest_request_spacing_s": 0.0,
            "ingest_schedule_hf_daily_minutes": 60,
            "ingest_hf_daily_days": 2,
            "digest_schedule_minutes": 0,
        }
    )
    indexed: list[int] = []

    def on_changed(ids: Sequence[int]) -> None:
        indexed.extend(ids)

    scheduler = Scheduler(sqlite_engine, Services(configured).scheduled_jobs(on_changed=on_changed))
    assert scheduler.run_due() == ["ingest:hf-daily"]
    assert len(server.requests) == 2 and all("date" in request.query for request in server.requests)
    assert len(indexed) == 3
    with sqlite_engine.connect() as conn:
        assert get_paper_by_arxiv_id(conn, "2410.17243") is not None
    (state,) = list_jobs(sqlite_engine)
    assert state.last_status == "ok" and "new 3" in (state.last_message or "")


def test_a_scheduled_arxiv_job_without_a_query_fails_with_a_clear_message(
    settings: Settings, sqlite_engine: Engine
) -> None:
    configured = settings.model_copy(update={"ingest_schedule_arxiv_api_minutes": 60, "digest_schedule_minutes": 0})
    Scheduler(sqlite_engine, Services(configured).scheduled_jobs()).run_due()
    (state,) = list_jobs(sqlite_engine)
    assert state.last_status == "failed" and "PAPERTIDE_INGEST_ARXIV_API_QUERY" in (state.last_message or "")


def test_the_app_runs_jobs_only_when_serve_asks_for_them(
    settings: Settings, sqlite_engine: Engine, server: FeedServer
) -> None:
    from fastapi.testclient import TestClient

    from papertide.web.app import create_app

    url = server.route("/api/daily_papers", Answer(fixture_bytes("hf_daily_papers.json")))
    configured = settings.model_copy(
        update={
            "ingest_hf_daily_url": url,
            "ingest_request_spacing_s": 0.0,
            "ingest_schedule_hf_daily_minutes": 60,
            "digest_schedule_minutes": 0,
        }
    )
    with TestClient(create_app(configured)) as client:
        client.get("/healthz")
    assert list_jobs(sqlite_engine) == []
    with TestClient(create_app(configured, run_jobs=True)):
        # Wait for the condition, not for a time: the limit only keeps a broken scheduler from
        # hanging the suite, and is far beyond what the job needs on any machine.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            states = list_jobs(sqlite_engine)
            if states and states[0].last_status:
                break
            threading.Event().wait(0.05)
    (state,) = list_jobs(sqlite_engine)
    assert state.name == "ingest:hf-daily" and state.last_status == "ok"
