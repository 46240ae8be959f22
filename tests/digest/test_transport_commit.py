"""The transport's commit hook: called once at the point of no return; if it fails, nothing is delivered."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from papertide.digest.compose import MailComposer
from papertide.mail.transport import FileOutbox, MailTransport, RawMessage, SmtpTransport
from tests.digest.smtp_sink import SmtpSink

NOW = dt.datetime(2026, 8, 21, 7, tzinfo=dt.UTC)


class Refused(Exception):
    pass


def message(composer: MailComposer, number: int) -> RawMessage:
    return composer.compose_confirmation(
        subscriber_id=number, email=f"reader{number}@example.org", already_subscribed=False, valid_days=7, now=NOW
    )


def refuse() -> None:
    raise Refused


def test_smtp_delivers_nothing_when_the_commit_fails_and_keeps_working(
    smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    calls: list[int] = []
    with SmtpTransport(smtp_sink.url) as transport:
        with pytest.raises(Refused):
            transport.send(message(composer, 1), commit=refuse)
        transport.send(message(composer, 2), commit=lambda: calls.append(len(smtp_sink.received)))
    assert calls == [0], "the hook runs before the server has the message"
    assert [m.recipients for m in smtp_sink.received] == [("reader2@example.org",)]


def test_the_file_outbox_writes_nothing_when_the_commit_fails(tmp_path: Path, composer: MailComposer) -> None:
    outbox: MailTransport = FileOutbox(tmp_path / "outbox")
    with outbox:
        with pytest.raises(Refused):
            outbox.send(message(composer, 1), commit=refuse)
        assert list((tmp_path / "outbox").iterdir()) == []
        outbox.send(message(composer, 2), commit=lambda: None)
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


def test_lines_starting_with_a_dot_arrive_intact(smtp_sink: SmtpSink) -> None:
    data = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: dots\r\n\r\n.leading dot\r\n..two\r\n.\r\nend\r\n"
    with SmtpTransport(smtp_sink.url) as transport:
        transport.send(RawMessage("a@example.org", ("b@example.org",), "<dots@example.org>", data))
    assert smtp_sink.received[0].data.replace(b"\r\n", b"\n").endswith(b".leading dot\n..two\n.\nend\n")
