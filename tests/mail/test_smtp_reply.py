"""mail/smtp_reply.py reads replies however the bytes were split, exactly as smtplib's getreply reads them."""

from __future__ import annotations

import io
import smtplib
import socket
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from papertide.mail.smtp_reply import MAX_LINE, Reply, ReplyBuffer, ReplyError
from papertide.mail.transport import RawMessage, SmtpTransport, TemporaryFailure

CODES = st.sampled_from([220, 221, 250, 251, 354, 421, 450, 451, 452, 503, 550, 551, 552, 553, 554])
TEXT = st.binary(max_size=40).map(lambda text: text.replace(b"\n", b" ").replace(b"\r", b" "))


@st.composite
def replies(draw: Any) -> bytes:
    """One reply as a server writes it: one or more lines with one code, "-" on all but the last."""
    code = b"%d" % draw(CODES)
    texts = draw(st.lists(TEXT, min_size=1, max_size=4))
    ending = draw(st.sampled_from([b"\r\n", b"\n"]))
    lines = [code + (b"-" if i < len(texts) - 1 else b" ") + text + ending for i, text in enumerate(texts)]
    return b"".join(lines)


def read_with_smtplib(stream: bytes, count: int) -> list[tuple[int, bytes]]:
    """What smtplib's getreply gives for the same bytes (its file object replaced by the bytes)."""
    client = smtplib.SMTP()
    client.file = io.BufferedReader(io.BytesIO(stream))  # type: ignore[assignment]
    return [client.getreply() for _ in range(count)]


def read_all(buffer: ReplyBuffer) -> list[Reply]:
    found = []
    while (reply := buffer.next_reply()) is not None:
        found.append(reply)
    return found


@settings(max_examples=300, deadline=None)
@given(st.lists(replies(), min_size=1, max_size=6), st.data())
def test_replies_split_anywhere_come_out_whole_in_order_and_as_smtplib_reads_them(
    group: list[bytes], data: st.DataObject
) -> None:
    stream = b"".join(group)
    cuts = sorted(data.draw(st.sets(st.integers(0, len(stream)), max_size=12)))
    buffer = ReplyBuffer()
    found: list[Reply] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        buffer.feed(stream[start:end])
        found.extend(read_all(buffer))
    assert [(reply.code, reply.text) for reply in found] == read_with_smtplib(stream, len(group))
    assert buffer.pending == 0


@settings(max_examples=100, deadline=None)
@given(st.lists(replies(), min_size=1, max_size=4))
def test_a_group_fed_one_byte_at_a_time_gives_each_reply_only_once_its_last_line_is_complete(
    group: list[bytes],
) -> None:
    stream = b"".join(group)
    ends = {sum(len(reply) for reply in group[: i + 1]) for i in range(len(group))}
    buffer = ReplyBuffer()
    found: list[Reply] = []
    for position in range(len(stream)):
        buffer.feed(stream[position : position + 1])
        new = read_all(buffer)
        assert (position + 1 in ends) == bool(new), f"a reply came out at byte {position + 1}: {new}"
        found.extend(new)
    assert len(found) == len(group)


def test_a_refusal_in_the_middle_of_a_pipelined_group_keeps_its_place() -> None:
    buffer = ReplyBuffer()
    buffer.feed(b"250 2.1.0 Ok\r\n450 4.2.0 <a@example.org>: Recipient address rejected\r\n250 2.1.5 Ok\r\n354 End")
    assert read_all(buffer) == [
        Reply(250, b"2.1.0 Ok"),
        Reply(450, b"4.2.0 <a@example.org>: Recipient address rejected"),
        Reply(250, b"2.1.5 Ok"),
    ]
    buffer.feed(b" data with <CR><LF>.<CR><LF>\r\n")
    assert read_all(buffer) == [Reply(354, b"End data with <CR><LF>.<CR><LF>")]


def test_a_multi_line_reply_joins_its_lines_with_newlines() -> None:
    buffer = ReplyBuffer()
    buffer.feed(b"250-mail.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n")
    assert buffer.next_reply() is None, "not whole before its last line"
    buffer.feed(b"250 8BITMIME\r\n")
    assert buffer.next_reply() == Reply(250, b"mail.example.org\nPIPELINING\nSIZE 10240000\n8BITMIME")


@pytest.mark.parametrize(
    ("received", "complaint"),
    [
        (b"hello there\r\n", "not an SMTP reply line"),
        (b"25 short\r\n", "not an SMTP reply line"),
        (b"250-first\r\nabc second\r\n", "not an SMTP reply line"),
        (b"250-first\r\n550 second\r\n", "changed its code"),
        (b"250 " + b"x" * MAX_LINE + b"\r\n", "longer than"),
        (b"250 " + b"x" * MAX_LINE, "longer than"),
    ],
    ids=["words", "two-digit code", "bad continuation", "code changes", "long line", "long unfinished line"],
)
def test_bytes_that_are_not_a_reply_raise_a_reply_error_naming_what_is_wrong(received: bytes, complaint: str) -> None:
    buffer = ReplyBuffer()
    buffer.feed(received)
    with pytest.raises(ReplyError, match=complaint):
        read_all(buffer)


def scripted_server(replies: list[bytes]) -> tuple[int, threading.Thread, list[bytes]]:
    """A loopback server that sends each of ``replies`` after reading one line (the greeting first, unasked)."""
    listener = socket.create_server(("127.0.0.1", 0))
    heard: list[bytes] = []

    def serve() -> None:
        connection, _ = listener.accept()
        with connection, listener, connection.makefile("rb") as lines:
            connection.sendall(replies[0])
            for reply in replies[1:]:
                heard.append(lines.readline())
                connection.sendall(reply)
            heard.append(lines.read())  # all that came next, until the client hung up

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread, heard


def test_a_reply_that_is_not_smtp_is_a_temporary_failure_and_drops_the_connection() -> None:
    greeting, ehlo = b"220 test ESMTP\r\n", b"250-test\r\n250 PIPELINING\r\n"
    port, thread, heard = scripted_server([greeting, ehlo, b"hello, this is not SMTP\r\n"])
    message = RawMessage("a@example.org", ("b@example.org",), "<m@example.org>", b"Subject: x\r\n\r\nbody\r\n")
    transport = SmtpTransport(f"smtp://127.0.0.1:{port}", timeout=60)
    with pytest.raises(TemporaryFailure, match="not an SMTP reply line"):
        transport.send(message)
    assert transport._client is None, "the connection is dropped: which command the line answered is unknown"
    thread.join(60)
    assert heard[1] == b"MAIL FROM:<a@example.org>\r\n"
    assert heard[2] == b"RCPT TO:<b@example.org>\r\nDATA\r\n", "the rest of the group, then no QUIT, no message"
