"""The transports return only once the receiver has the message for good; anything less raises."""

from __future__ import annotations

import datetime as dt
import smtplib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from papertide.digest.compose import MailComposer
from papertide.mail.transport import (
    FileOutbox,
    MessageRejected,
    RawMessage,
    RecipientRefused,
    SmtpTransport,
    TemporaryFailure,
    dot_stuffed,
    quote_address,
)
from tests.digest.smtp_sink import SmtpSink

NOW = dt.datetime(2026, 8, 21, 7, tzinfo=dt.UTC)


def message(composer: MailComposer, number: int) -> RawMessage:
    return composer.compose_confirmation(
        subscriber_id=number, email=f"reader{number}@example.org", already_subscribed=False, valid_days=7, now=NOW
    )


def test_smtp_refusals_after_the_final_dot_raise_and_the_connection_keeps_working(
    smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    smtp_sink.behaviour.data_replies.extend(["554 5.6.0 Content refused", "451 4.3.0 Try again later"])
    with SmtpTransport(smtp_sink.url) as transport:
        with pytest.raises(MessageRejected):
            transport.send(message(composer, 1))
        with pytest.raises(TemporaryFailure):
            transport.send(message(composer, 2))
        transport.send(message(composer, 3))
        assert [m.recipients for m in smtp_sink.received] == [("reader3@example.org",)], "accepted when send returns"


def test_a_reply_lost_after_the_final_dot_is_a_temporary_failure_not_a_success(
    smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    smtp_sink.behaviour.drop_after_data = 1
    with SmtpTransport(smtp_sink.url) as transport:
        with pytest.raises(TemporaryFailure):
            transport.send(message(composer, 1))
        transport.send(message(composer, 2))
    assert [m.recipients for m in smtp_sink.received] == [("reader1@example.org",), ("reader2@example.org",)]


def test_the_file_outbox_writes_each_message_once_whole_and_readable_only_by_its_owner(
    tmp_path: Path, composer: MailComposer
) -> None:
    directory = tmp_path / "outbox"
    first = message(composer, 1)
    with FileOutbox(directory) as outbox:
        outbox.send(first)
        outbox.send(first)
        outbox.send(message(composer, 2))
    files = sorted(directory.iterdir())
    assert len(files) == 2 and all(path.suffix == ".eml" for path in files), "no temporary file is left behind"
    assert first.data in {path.read_bytes() for path in files}
    assert all(path.stat().st_mode & 0o777 == 0o600 for path in files)


def test_a_file_outbox_that_cannot_write_is_a_temporary_failure(tmp_path: Path, composer: MailComposer) -> None:
    blocked = tmp_path / "outbox"
    blocked.write_text("a file where the directory should be")
    with pytest.raises(TemporaryFailure, match="cannot write"):
        FileOutbox(blocked).send(message(composer, 1))
    assert blocked.read_text() == "a file where the directory should be"


def test_lines_starting_with_a_dot_arrive_intact(smtp_sink: SmtpSink) -> None:
    data = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: dots\r\n\r\n.leading dot\r\n..two\r\n.\r\nend\r\n"
    with SmtpTransport(smtp_sink.url) as transport:
        transport.send(RawMessage("a@example.org", ("b@example.org",), "<dots@example.org>", data))
    assert smtp_sink.received[0].data.replace(b"\r\n", b"\n").endswith(b".leading dot\n..two\n.\nend\n")


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-by-one"])
def test_a_refused_recipient_bounces_and_the_next_message_goes_out_over_the_same_connection_with_or_without_pipelining(
    smtp_sink: SmtpSink, composer: MailComposer, pipelining: bool
) -> None:
    smtp_sink.behaviour.pipelining = pipelining
    smtp_sink.behaviour.refuse_recipients["reader1@example.org"] = "550 5.1.1 No such user"
    with SmtpTransport(smtp_sink.url) as transport:
        with pytest.raises(RecipientRefused):
            transport.send(message(composer, 1))
        transport.send(message(composer, 2))
        both = RawMessage(
            sender="digest@example.org",
            recipients=("reader1@example.org", "reader3@example.org"),
            message_id="<both@example.org>",
            data=b"Subject: two\r\n\r\n.a line starting with a dot\r\n",
        )
        transport.send(both)  # one recipient refused, the other accepted: delivered
        assert transport._client is not None and transport._client.has_extn("pipelining") == pipelining
    assert [m.recipients for m in smtp_sink.received] == [("reader2@example.org",), ("reader3@example.org",)]
    assert smtp_sink.received[1].data.endswith(b".a line starting with a dot\r\n")
    assert len({m.session for m in smtp_sink.received}) == 1


ADDRESS_TEXT = st.text(alphabet=st.characters(codec="ascii", exclude_characters="\r\n\0"), max_size=30)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.emails(), ADDRESS_TEXT, st.builds("{}@{}".format, ADDRESS_TEXT, ADDRESS_TEXT)))
def test_envelope_addresses_are_quoted_exactly_as_smtplib_quotes_them(address: str) -> None:
    assert quote_address(address) == smtplib.quoteaddr(address)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b".", b"..", b"a", b"\r\n", b"\n", b"\r", b" ", b"=2E"]), min_size=1, max_size=40))
def test_dot_stuffing_gives_crlf_lines_with_each_leading_dot_doubled(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    stuffed = dot_stuffed(data)
    lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    assert stuffed == b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n" for line in lines)


def test_a_message_with_its_own_smtp_form_is_sent_in_that_form(smtp_sink: SmtpSink) -> None:
    data = b"Subject: dots\r\n\r\n.leading\r\n"
    message = RawMessage(
        "a@example.org", ("b@example.org",), "<own@example.org>", data, smtp_data=b"Subject: dots\r\n\r\n..leading\r\n"
    )
    with SmtpTransport(smtp_sink.url) as transport:
        transport.send(message)
    assert smtp_sink.received[0].data.replace(b"\r\n", b"\n").endswith(b"\n.leading\n")


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-by-one"])
def test_recipients_all_refused_for_now_are_a_temporary_failure_and_the_connection_goes_on_after_rset(
    smtp_sink: SmtpSink, composer: MailComposer, pipelining: bool
) -> None:
    smtp_sink.behaviour.pipelining = pipelining
    smtp_sink.behaviour.refuse_recipients.update(
        {"reader1@example.org": "450 4.2.0 Mailbox busy", "reader3@example.org": "452 4.5.3 Too many recipients"}
    )
    both = RawMessage(
        "digest@example.org", ("reader1@example.org", "reader3@example.org"), "<b@x.org>", b"S: x\r\n\r\nb\r\n"
    )
    one = RawMessage(
        "digest@example.org", ("reader1@example.org", "reader2@example.org"), "<o@x.org>", b"S: x\r\n\r\no\r\n"
    )
    with SmtpTransport(smtp_sink.url) as transport:
        with pytest.raises(TemporaryFailure, match="450"):
            transport.send(both)
        transport.send(one)  # the busy mailbox is left out, the other one takes it
        transport.send(message(composer, 2))
    assert [m.recipients for m in smtp_sink.received] == [("reader2@example.org",), ("reader2@example.org",)]
    assert len({m.session for m in smtp_sink.received}) == 1 and smtp_sink.sessions_without_quit == set()


def test_meanwhile_runs_once_after_the_whole_message_went_out_and_not_for_a_refused_envelope(
    smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    smtp_sink.behaviour.refuse_recipients["reader1@example.org"] = "550 5.1.1 No such user"
    calls: list[int] = []
    with SmtpTransport(smtp_sink.url) as transport:
        transport.send(message(composer, 2), lambda: calls.append(len(smtp_sink.received)))
        with pytest.raises(RecipientRefused):
            transport.send(message(composer, 1), lambda: calls.append(-1))
    # Called once, before the answer to the final dot was read (the server may or may not have
    # stored the message by then, so only "at most one received" can be said of that moment).
    assert len(calls) == 1 and calls[0] in (0, 1)
    assert [m.recipients for m in smtp_sink.received] == [("reader2@example.org",)]


def test_an_error_in_meanwhile_drops_the_connection_so_its_unread_answer_is_never_taken_for_the_next_ones(
    smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    def fails() -> None:
        raise RuntimeError("composing the next message failed")

    with SmtpTransport(smtp_sink.url) as transport:
        with pytest.raises(RuntimeError, match="composing the next"):
            transport.send(message(composer, 1), fails)
        transport.send(message(composer, 2))
        transport.send(message(composer, 3))
    received = [m.recipients for m in smtp_sink.received]
    # The first message's fate was unknown to the sender (its dot went out); the next two arrived.
    assert received[-2:] == [("reader2@example.org",), ("reader3@example.org",)]
    assert len({m.session for m in smtp_sink.received[-2:]}) == 1
    # Over a second connection: the first one was dropped without QUIT, its answer unread.
    assert len(smtp_sink.sessions_without_quit) == 1
    assert smtp_sink.received[-1].session not in smtp_sink.sessions_without_quit


def test_an_announced_envelope_is_continued_by_its_send_over_the_same_connection(
    smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    with SmtpTransport(smtp_sink.url) as transport:
        transport.announce(message(composer, 1))  # no connection yet: nothing to announce on, nothing done
        transport.send(message(composer, 1))
        second = message(composer, 2)
        transport.announce(second)
        transport.send(second)
    assert [m.recipients for m in smtp_sink.received] == [("reader1@example.org",), ("reader2@example.org",)]
    assert len({m.session for m in smtp_sink.received}) == 1
    assert not smtp_sink.sessions_without_quit


def test_a_withdrawn_or_superseded_announcement_never_delivers_its_message(
    smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    with SmtpTransport(smtp_sink.url) as transport:
        transport.send(message(composer, 1))
        transport.announce(message(composer, 2))
        transport.withdraw()
        transport.send(message(composer, 3))
        transport.announce(message(composer, 4))
        transport.send(message(composer, 5))  # not the announced message: a transaction of its own
        transport.announce(message(composer, 6))
    # Closed with reader6's envelope open: dropped, not ended with QUIT (which would be taken as data).
    assert [m.recipients for m in smtp_sink.received] == [
        ("reader1@example.org",),
        ("reader3@example.org",),
        ("reader5@example.org",),
    ]
    assert len(smtp_sink.sessions_without_quit) == 3
