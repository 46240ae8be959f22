"""The polite client: identification, spacing, back-off, Retry-After, timeouts (a real local server)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import pytest

from papertide.ingest.http import FetchError, parse_retry_after
from tests.ingest.ingest_server import FAST, USER_AGENT, Answer, FeedServer, Sleeps, polite_client, running_server


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_server() as running:
        yield running


def test_every_request_carries_the_configured_user_agent(server: FeedServer) -> None:
    url = server.route("/feed", Answer(b"<ok/>"))
    with polite_client("test") as client:
        fetched = client.fetch(url, {"q": "x"})
    assert fetched.content == b"<ok/>"
    assert server.requests[0].headers["user-agent"] == USER_AGENT
    assert server.requests[0].query == {"q": "x"}


def test_requests_are_spaced_by_the_configured_delay(server: FeedServer) -> None:
    url = server.route("/feed", Answer(b"<ok/>"))
    sleeps = Sleeps()
    politeness = dataclasses.replace(FAST, spacing_s=3.0)
    with polite_client("test", sleeps, politeness) as client:
        client.fetch(url)
        sleeps.now += 1.0  # one second of work between two requests
        client.fetch(url)
        client.fetch(url)
    assert sleeps.waits == [2.0, 3.0]
    assert len(server.requests) == 3


def test_a_503_with_retry_after_is_waited_out_and_retried(server: FeedServer) -> None:
    url = server.route(
        "/oai",
        Answer(b"Retry after 10 seconds", status=503, headers={"Retry-After": "10"}, content_type="text/plain"),
        Answer(b"<ok/>"),
    )
    sleeps = Sleeps()
    with polite_client("oai", sleeps) as client:
        fetched = client.fetch(url)
    assert fetched.content == b"<ok/>"
    assert sleeps.waits == [10.0]
    assert len(server.requests) == 2


def test_server_errors_back_off_exponentially_then_give_up_naming_the_source(server: FeedServer) -> None:
    url = server.route("/api", Answer(b"oops", status=500, content_type="text/plain"))
    sleeps = Sleeps()
    politeness = dataclasses.replace(FAST, retries=3, backoff_s=5.0)
    with polite_client("arxiv-api", sleeps, politeness) as client, pytest.raises(FetchError) as raised:
        client.fetch(url)
    assert sleeps.waits == [5.0, 10.0, 20.0]
    assert len(server.requests) == 4
    assert "arxiv-api" in str(raised.value) and "HTTP 500" in str(raised.value) and "4 tries" in str(raised.value)


def test_a_timeout_is_retried_and_a_later_answer_is_used(server: FeedServer) -> None:
    url = server.route("/slow", Answer(b"<late/>", delay_s=0.8), Answer(b"<ok/>"))
    politeness = dataclasses.replace(FAST, timeout_s=0.3)
    with polite_client("test", politeness=politeness) as client:
        fetched = client.fetch(url)
    assert fetched.content == b"<ok/>"
    assert len(server.requests) == 2


def test_a_server_that_never_answers_in_time_fails_clearly(server: FeedServer) -> None:
    url = server.route("/slow", Answer(b"<late/>", delay_s=0.6))
    politeness = dataclasses.replace(FAST, timeout_s=0.2, retries=1)
    with polite_client("test", politeness=politeness) as client, pytest.raises(FetchError) as raised:
        client.fetch(url)
    assert "no answer within 0.2 s" in str(raised.value)


def test_a_client_error_is_not_retried(server: FeedServer) -> None:
    url = server.route("/missing", Answer(b"no such thing", status=404, content_type="text/plain"))
    with polite_client("test") as client, pytest.raises(FetchError) as raised:
        client.fetch(url)
    assert len(server.requests) == 1
    assert "HTTP 404" in str(raised.value) and "no such thing" in str(raised.value)


def test_a_retry_after_longer_than_the_maximum_wait_ends_the_run(server: FeedServer) -> None:
    url = server.route("/busy", Answer(b"busy", status=503, headers={"Retry-After": "3600"}))
    sleeps = Sleeps()
    with polite_client("oai", sleeps) as client, pytest.raises(FetchError) as raised:
        client.fetch(url)
    assert sleeps.waits == []
    assert "3600" in str(raised.value)


def test_a_refused_connection_is_retried_then_reported() -> None:
    with running_server() as stopped:
        url = stopped.url + "/gone"
    sleeps = Sleeps()
    politeness = dataclasses.replace(FAST, backoff_s=1.0)
    with polite_client("test", sleeps, politeness) as client, pytest.raises(FetchError) as raised:
        client.fetch(url)
    assert sleeps.waits == [1.0, 2.0]
    assert "connection failed" in str(raised.value)


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Sat, 28 Nov 2026 12:01:30 GMT", now) == 90.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
