"""Delivering composed messages: a file outbox by default, SMTP in production.

This is the only module in papertide that sends mail; sign-in links and digests both go
through it. Composing a message is the caller's job (see digest/compose.py).

``send`` returns only once the receiver has taken the message for good: the SMTP server
answered 250 to the final dot, or the ``.eml`` file is written, flushed to disk and renamed
into place. A caller that records "sent" after ``send`` returns therefore never records a
message that was not delivered (issue 9); a process killed between the acceptance and that
record sends the message again on the next attempt, with the same Message-ID. The named
fault points of domain/faults.py mark each step, for the crash tests.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import logging
import os
import re
import smtplib
import socket
import ssl
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import getaddresses
from pathlib import Path
from types import TracebackType
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from papertide.domain.faults import reach_fault_point
from papertide.mail.smtp_reply import Reply, ReplyBuffer, ReplyError

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A message could not be delivered."""


class TemporaryFailure(DeliveryError):
    """Try again later: a 4xx reply, a dropped connection, a timeout."""


class PermanentFailure(DeliveryError):
    """Do not try again: a 5xx reply such as an unknown mailbox."""


class RecipientRefused(PermanentFailure):
    """The server refused the recipient address itself (5xx to RCPT): the address bounces."""


class MessageRejected(PermanentFailure):
    """The server refused this message's content (5xx after DATA), not the address."""


@dataclass(frozen=True, slots=True)
class RawMessage:
    """A message already serialised for SMTP (CRLF line ends) with its envelope.

    Composers that build many messages (the digest) produce these directly, because the
    ``email`` package's generator costs several milliseconds per message.
    """

    sender: str
    recipients: tuple[str, ...]
    message_id: str
    data: bytes
    smtputf8: bool = False
    # ``data`` as it goes over SMTP (RFC 5321 transparency: lines that start with "." get another),
    # when the composer built it piece by piece (digest/compose.py); None: the transport stuffs ``data``.
    # Stuffing 30 KB here cost more per message than everything else SMTP does.
    smtp_data: bytes | None = None


def raw_message(message: EmailMessage | RawMessage) -> RawMessage:
    """Serialise with ``email.policy.SMTP`` and take the envelope from the headers, as smtplib does."""
    if isinstance(message, RawMessage):
        return message
    senders = getaddresses([str(message.get("Sender") or message.get("From") or "")])
    sender = senders[0][1] if senders else ""
    recipients = tuple(
        address for _, address in getaddresses([str(v) for k in ("To", "Cc", "Bcc") for v in message.get_all(k, [])])
    )
    international = any(not address.isascii() for address in (sender, *recipients))
    if message.get_all("Bcc"):
        message = copy.copy(message)
        del message["Bcc"]
    policy = SMTP.clone(utf8=True) if international else SMTP
    return RawMessage(
        sender=sender,
        recipients=recipients,
        message_id=str(message.get("Message-ID") or ""),
        data=message.as_bytes(policy=policy),
        smtputf8=international,
    )


class MailTransport(Protocol):
    """Something that delivers one message at a time; used as a context manager."""

    def __enter__(self) -> MailTransport: ...

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None: ...

    def announce(self, message: RawMessage) -> None:
        """Start ``message``'s transaction now, before deciding to send it (best effort: may do nothing).

        Nothing of the message itself goes out: its ``send`` continues the transaction, and
        ``withdraw`` (or any other message's ``send``, or closing) abandons it. Lets the receiver
        work while the caller checks whether the message may still go (issue 13).
        """
        ...

    def withdraw(self) -> None:
        """Abandon the transaction ``announce`` started, if any: the receiver never gets the message."""
        ...

    def send(self, message: EmailMessage | RawMessage, meanwhile: Callable[[], None] | None = None) -> None:
        """Deliver the message, returning once the receiver has accepted it, or raise TemporaryFailure /
        PermanentFailure (then it was not accepted, or, for a TemporaryFailure, it may have been).

        :param meanwhile: work to do while the receiver takes the message (at most one call, after the
            whole message went out and before its answer is read; e.g. composing the next message). A
            transport with nothing to wait for may not call it. If it raises, the connection is dropped
            and the error propagates: the message may or may not have been accepted.
        """
        ...


class FileOutbox:
    """Writes each message as one ``.eml`` file, so a local setup needs no mail server.

    The file name derives from the Message-ID, so delivering the same message twice leaves
    one file. A file appears whole or not at all: it is written to a hidden temporary file
    (mode 0600: messages carry live links), flushed to disk, renamed into place, and the
    directory is flushed too, so that an accepted message survives a power cut. A process
    killed before the rename leaves a hidden ``.*.tmp`` file behind, never a partial ``.eml``.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __enter__(self) -> FileOutbox:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        return None

    def announce(self, message: RawMessage) -> None:
        """Nothing to start ahead: a file is written whole by ``send``."""

    def withdraw(self) -> None:
        """Nothing was started ahead."""

    def send(self, message: EmailMessage | RawMessage, meanwhile: Callable[[], None] | None = None) -> None:
        """Write the message to the outbox directory, durably; returns once it is in place.

        ``meanwhile`` is not called: there is no receiver to wait for.
        """
        raw = raw_message(message)
        key = raw.message_id.encode("utf-8") if raw.message_id else raw.data
        name = hashlib.sha256(key).hexdigest()[:32] + ".eml"
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            _write_durably(self.directory, name, raw.data)
        except OSError as error:
            raise TemporaryFailure(f"cannot write {self.directory / name}: {error}") from error
        reach_fault_point("after-250")


def _write_durably(directory: Path, name: str, data: bytes) -> None:
    """``directory/name`` holds ``data`` on disk when this returns (temp file + fsync + rename + fsync)."""
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        reach_fault_point("after-data")
        os.replace(temporary, directory / name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    folder = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


class SmtpTransport:
    """SMTP over one connection kept open across messages.

    URL forms: ``smtp://user:pass@host:587?starttls=true`` (STARTTLS), ``smtps://host:465``
    (implicit TLS), ``smtp://host:25`` (plain, for a local relay).

    smtplib opens the connection (greeting, EHLO, TLS, AUTH); the messages then go out over
    its socket with this module's own writes and mail/smtp_reply.py's reply reader (issue 13):
    per message, one write for the envelope (MAIL, RCPT, DATA pipelined, RFC 2920) and one for
    the message with its final dot, and the replies read from whatever each read returned,
    instead of smtplib's five writes and a ``readline`` per reply line.
    """

    def __init__(self, url: str, timeout: float = 30.0, *, tls_context: ssl.SSLContext | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"}:
            raise ValueError(f"SMTP URL must start with smtp:// or smtps://, got {parts.scheme!r}")
        options = parse_qs(parts.query)
        self.host = parts.hostname or "localhost"
        self.implicit_tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.starttls = options.get("starttls", ["false"])[0].lower() in {"1", "true", "yes"}
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout
        # None: the system's trusted certificates (ssl.create_default_context); tests pass their own CA.
        self.tls_context = tls_context
        self._client: smtplib.SMTP | None = None
        self._session: _Session | None = None
        # The message whose envelope ``announce`` wrote, its replies not read yet.
        self._announced: RawMessage | None = None

    def _connect(self) -> smtplib.SMTP:
        try:
            client: smtplib.SMTP
            context = self.tls_context or ssl.create_default_context()
            if self.implicit_tls:
                client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.starttls:
                    client.starttls(context=context)
            if client.sock is not None:
                # Each write is a whole group of commands or a whole message: nothing to gain from
                # Nagle's algorithm, which would hold a short write until the server's delayed ACK.
                client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.username:
                client.login(self.username, self.password or "")
            client.ehlo_or_helo_if_needed()
        except smtplib.SMTPAuthenticationError as error:
            raise PermanentFailure(f"SMTP login refused: {error.smtp_code}") from error
        except (OSError, smtplib.SMTPException) as error:
            raise TemporaryFailure(f"cannot connect to SMTP {self.host}:{self.port}: {error}") from error
        return client

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Say QUIT and drop the connection (only drop it while an announced envelope awaits its message)."""
        if self._session is not None and self._announced is None:
            with contextlib.suppress(OSError, ReplyError):
                self._session.command(b"QUIT\r\n")
        self._abandon()

    def probe(self) -> str:
        """Connect, log in and say NOOP without sending anything; returns the server's greeting."""
        client = self._connect()
        try:
            code, reply = client.noop()
        finally:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                client.quit()
        if code != 250:
            raise TemporaryFailure(f"SMTP NOOP answered {code}")
        return f"{self.host}:{self.port} answered {code} {reply.decode(errors='replace')}".strip()

    def _abandon(self) -> None:
        """Drop the connection without QUIT, so an unfinished DATA is discarded by the server."""
        self._session = None
        self._announced = None
        if self._client is not None:
            with contextlib.suppress(OSError):
                self._client.close()
            self._client = None

    def announce(self, message: RawMessage) -> None:
        """Write the envelope (MAIL, RCPT, DATA) of ``message`` now, on a kept connection that pipelines.

        Its replies are read by ``send(message)``: the server answers while the caller decides
        whether the message may still go (delivery's held check, a database round trip), instead
        of after (issue 13). DATA is part of the envelope, so a message withdrawn after it cannot
        be ended cleanly: ``withdraw`` drops the connection, and the server discards a transaction
        whose data never ended (RFC 5321 section 4.1.1.4, what the crash tests' after-data window
        relies on too); the next message connects again. Does nothing without an open connection,
        without PIPELINING, or when the envelope cannot be written (``send`` then starts afresh).
        """
        if self._announced is not None:
            self.withdraw()
        session = self._session
        if session is None or not session.pipelining or (message.smtputf8 and not session.smtputf8):
            return
        try:
            session.write(self._envelope(session, message))
        except OSError:
            self._abandon()
            return
        self._announced = message

    def withdraw(self) -> None:
        """Abandon an announced envelope: the connection is dropped without its message ever going out."""
        if self._announced is not None:
            self._abandon()

    def send(self, message: EmailMessage | RawMessage, meanwhile: Callable[[], None] | None = None) -> None:
        """Send one message; returns after the server's 250 to the final dot.

        ``meanwhile`` runs once the final dot is written, while the server takes the message (the
        wait for its answer was ~0.2 ms per message against a local server, idle time of the
        delivery loop: issue 13); it is not run when the message fails before its data goes out.

        Reconnects once when the kept connection turns out to be dropped before the message
        data went out. A connection lost after that, before the reply to the final dot, is a
        TemporaryFailure: the server may or may not have the message, and sending it again
        (same Message-ID) is what keeps it from being lost (RFC 5321 section 6.1; RFC 1047).
        """
        raw = raw_message(message)
        announced, self._announced = self._announced, None
        if announced is not None and announced is not raw:
            self._abandon()  # another message's envelope: its transaction must not carry this one
        for attempt in (1, 2):
            if self._session is None:
                self._client = self._connect()
                self._session = _Session(self._client)
            try:
                self._transact(self._session, raw, meanwhile, announced=announced is raw and attempt == 1)
                return
            except _Dropped as error:
                self._abandon()
                if attempt == 2:
                    raise TemporaryFailure(f"SMTP server disconnected: {error}") from error
            except (OSError, ReplyError) as error:
                self._abandon()
                raise TemporaryFailure(f"SMTP error: {error}") from error

    @staticmethod
    def _commands(session: _Session, raw: RawMessage) -> tuple[bytes, list[bytes]]:
        """The MAIL and RCPT command lines of ``raw``."""
        options = b" SMTPUTF8 BODY=8BITMIME" if raw.smtputf8 else b""
        if session.size:
            options += b" SIZE=%d" % len(raw.data)
        encoding = "utf-8" if raw.smtputf8 else "ascii"
        mail_command = b"MAIL FROM:%s%s\r\n" % (quote_address(raw.sender).encode(encoding), options)
        rcpt_commands = [b"RCPT TO:%s\r\n" % quote_address(r).encode(encoding) for r in raw.recipients]
        return mail_command, rcpt_commands

    def _envelope(self, session: _Session, raw: RawMessage) -> bytes:
        """MAIL, RCPT and DATA in one write (RFC 2920: DATA ends a group)."""
        mail_command, rcpt_commands = self._commands(session, raw)
        return b"".join((mail_command, *rcpt_commands, b"DATA\r\n"))

    def _transact(
        self, session: _Session, raw: RawMessage, meanwhile: Callable[[], None] | None, *, announced: bool = False
    ) -> None:
        if raw.smtputf8 and not session.smtputf8:
            raise TemporaryFailure(f"SMTP error: {self.host} does not take SMTPUTF8 (an address is not ASCII)")
        try:
            if session.pipelining:
                if not announced:
                    session.write(self._envelope(session, raw))
                mail, rcpts, data = session.read_envelope(len(raw.recipients))
            else:
                mail, rcpts, data = session.open_stepwise(*self._commands(session, raw))
        except OSError as error:
            raise _Dropped(str(error)) from error
        if mail.code != 250:
            self._reset(mail.code)
            raise _failure_for(mail.code, f"sender refused: SMTP {mail.code} {mail.text!r}")
        refused = {
            recipient: (reply.code, reply.text)
            for recipient, reply in zip(raw.recipients, rcpts, strict=True)
            if reply.code not in (250, 251)
        }
        if len(refused) == len(raw.recipients):
            code = min(code for code, _ in refused.values()) if refused else 554
            self._reset(code)
            detail = f"recipient refused: {refused}"
            raise RecipientRefused(detail) if 500 <= code < 600 else TemporaryFailure(detail)
        if data.code != 354:
            self._reset(data.code)
            raise _failure_for(data.code, f"DATA refused: SMTP {data.code} {data.text!r}", rejected=True)
        # The process may stop here with DATA open and nothing of the message written: the server
        # discards the transaction when the connection drops (the crash tests' after-data window).
        reach_fault_point("after-data")
        stuffed = raw.smtp_data if raw.smtp_data is not None else dot_stuffed(raw.data)
        session.write(stuffed + b".\r\n")
        reach_fault_point("after-dot")
        if meanwhile is not None:
            try:
                meanwhile()
            except BaseException:
                # Its answer is still unread: the connection cannot serve another message.
                self._abandon()
                raise
        final = session.reply()
        if final.code != 250:
            raise _failure_for(final.code, f"message refused: SMTP {final.code} {final.text!r}", rejected=True)
        reach_fault_point("after-250")

    def _reset(self, code: int) -> None:
        # 421 means the server is closing the connection; anything else leaves it usable after RSET.
        if code == 421 or self._session is None:
            self._abandon()
            return
        try:
            if self._session.command(b"RSET\r\n").code == 250:
                return
        except (OSError, ReplyError):
            pass
        self._abandon()


class _Session:
    """An open, greeted (and maybe TLS, logged-in) connection: what it supports, and its writes and replies."""

    def __init__(self, client: smtplib.SMTP) -> None:
        sock = client.sock
        if sock is None:
            raise _Closed("the SMTP connection is closed")
        if client.file is None:
            client.file = sock.makefile("rb")
        # Read through smtplib's buffered file: any bytes it already buffered come first.
        self._read = client.file.read1
        self.write = sock.sendall
        self._replies = ReplyBuffer()
        esmtp = bool(client.does_esmtp)
        self.pipelining = esmtp and client.has_extn("pipelining")
        self.size = esmtp and client.has_extn("size")
        self.smtputf8 = esmtp and client.has_extn("smtputf8")

    def reply(self) -> Reply:
        """The next reply, reading from the connection until it is whole."""
        replies = self._replies
        reply = replies.next_reply()
        while reply is None:
            chunk = self._read(65536)
            if not chunk:
                raise _Closed("the SMTP server closed the connection")
            replies.feed(chunk)
            reply = replies.next_reply()
        return reply

    def command(self, line: bytes) -> Reply:
        """Send one command line and read its reply."""
        self.write(line)
        return self.reply()

    def read_envelope(self, recipients: int) -> tuple[Reply, list[Reply], Reply]:
        """The replies to MAIL, each RCPT and DATA written in one write (RFC 2920): one round trip, not three.

        When the envelope failed but the server still answered 354 to DATA, an empty message is
        ended at once; the server discards it (it has no valid recipient).
        """
        mail_reply = self.reply()
        rcpt_replies = [self.reply() for _ in range(recipients)]
        data = self.reply()
        if data.code == 354 and (mail_reply.code != 250 or all(r.code not in (250, 251) for r in rcpt_replies)):
            self.command(b".\r\n")
            data = Reply(503, b"envelope refused")
        return mail_reply, rcpt_replies, data

    def open_stepwise(self, mail: bytes, rcpts: list[bytes]) -> tuple[Reply, list[Reply], Reply]:
        """MAIL, each RCPT and DATA one after the other, each waiting for its reply (no PIPELINING)."""
        mail_reply = self.command(mail)
        skipped = Reply(0, b"")
        if mail_reply.code != 250:
            return mail_reply, [skipped for _ in rcpts], skipped
        rcpt_replies = [self.command(rcpt) for rcpt in rcpts]
        if all(r.code not in (250, 251) for r in rcpt_replies):
            return mail_reply, rcpt_replies, skipped
        return mail_reply, rcpt_replies, self.command(b"DATA\r\n")


class _Dropped(Exception):
    """The kept connection turned out to be closed before anything was sent."""


class _Closed(ConnectionError):
    """The server closed the connection (a read returned nothing)."""


# A plain dot-atom address: no quotes, comments, brackets, spaces or angle brackets.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")


def quote_address(address: str) -> str:
    """``<address>`` for MAIL/RCPT, as ``smtplib.quoteaddr`` writes it.

    quoteaddr runs the ``email`` package's full address parser (30 µs, twice a message); for
    a plain address, which is what papertide stores (mail/address.py), its answer is the
    address in angle brackets, so only other forms go through it.
    """
    if _PLAIN_ADDRESS.fullmatch(address):
        return f"<{address}>"
    return smtplib.quoteaddr(address)


def dot_stuffed(data: bytes) -> bytes:
    """RFC 5321 transparency: a line starting with "." gets another; ends with CRLF."""
    crlf = data.count(b"\r\n")
    lines = data
    if data.count(b"\n") != crlf or data.count(b"\r") != crlf:  # bare CR or LF: normalise (rare)
        lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    if not lines.endswith(b"\r\n"):
        lines += b"\r\n"
    stuffed = lines.replace(b"\r\n.", b"\r\n..")
    return b"." + stuffed if stuffed.startswith(b".") else stuffed


def _failure_for(code: int, detail: str, *, rejected: bool = False) -> DeliveryError:
    if 500 <= code < 600:
        return MessageRejected(detail) if rejected else PermanentFailure(detail)
    return TemporaryFailure(detail)


def make_transport(smtp_url: str | None, outbox_dir: Path) -> MailTransport:
    """SMTP when a URL is configured, else the file outbox."""
    if smtp_url:
        return SmtpTransport(smtp_url)
    return FileOutbox(outbox_dir)
