"""Delivering composed messages: a file outbox by default, SMTP in production.

This is the only module in papertide that sends mail; sign-in links and digests both go
through it. Composing a message is the caller's job (see digest/compose.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from types import TracebackType
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit


class DeliveryError(Exception):
    """A message could not be delivered."""


class TemporaryFailure(DeliveryError):
    """Try again later: a 4xx reply, a dropped connection, a timeout."""


class PermanentFailure(DeliveryError):
    """Do not try again: a 5xx reply such as an unknown mailbox."""


class MailTransport(Protocol):
    """Something that delivers one message at a time; used as a context manager."""

    def __enter__(self) -> MailTransport: ...

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None: ...

    def send(self, message: EmailMessage) -> None:
        """Deliver the message or raise TemporaryFailure / PermanentFailure."""
        ...


class FileOutbox:
    """Writes each message as one ``.eml`` file, so a local setup needs no mail server.

    The file name derives from the Message-ID, so delivering the same message twice leaves
    one file; files appear atomically (written aside, then renamed).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __enter__(self) -> FileOutbox:
        self.directory.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        return None

    def send(self, message: EmailMessage) -> None:
        """Write the message to the outbox directory."""
        self.directory.mkdir(parents=True, exist_ok=True)
        key = message.get("Message-ID") or message.as_string()
        name = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32] + ".eml"
        target = self.directory / name
        temporary = self.directory / f".{name}.tmp"
        temporary.write_bytes(message.as_bytes(policy=SMTP))
        os.replace(temporary, target)


class SmtpTransport:
    """SMTP over one connection kept open across messages.

    URL forms: ``smtp://user:pass@host:587?starttls=true`` (STARTTLS), ``smtps://host:465``
    (implicit TLS), ``smtp://host:25`` (plain, for a local relay).
    """

    def __init__(self, url: str, timeout: float = 30.0) -> None:
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
        self._client: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        try:
            client: smtplib.SMTP
            if self.implicit_tls:
                client = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.starttls:
                    client.starttls(context=ssl.create_default_context())
            if self.username:
                client.login(self.username, self.password or "")
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
        """Say QUIT and drop the connection."""
        if self._client is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._client.quit()
            self._client = None

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

    def send(self, message: EmailMessage) -> None:
        """Send one message; reconnects once when the kept connection was dropped."""
        for attempt in (1, 2):
            if self._client is None:
                self._client = self._connect()
            try:
                refused = self._client.send_message(message)
            except smtplib.SMTPServerDisconnected as error:
                self._client = None
                if attempt == 2:
                    raise TemporaryFailure(f"SMTP server disconnected: {error}") from error
                continue
            except smtplib.SMTPRecipientsRefused as error:
                codes = [code for code, _ in error.recipients.values()]
                raise _failure_for(min(codes), f"recipient refused: {error.recipients}") from error
            except smtplib.SMTPResponseException as error:
                raise _failure_for(error.smtp_code, f"SMTP {error.smtp_code}: {error.smtp_error!r}") from error
            except (OSError, smtplib.SMTPException) as error:
                self._client = None
                raise TemporaryFailure(f"SMTP error: {error}") from error
            if refused:
                codes = [code for code, _ in refused.values()]
                raise _failure_for(min(codes), f"recipient refused: {refused}")
            return


def _failure_for(code: int, detail: str) -> DeliveryError:
    return PermanentFailure(detail) if 500 <= code < 600 else TemporaryFailure(detail)


def make_transport(smtp_url: str | None, outbox_dir: Path) -> MailTransport:
    """SMTP when a URL is configured, else the file outbox."""
    if smtp_url:
        return SmtpTransport(smtp_url)
    return FileOutbox(outbox_dir)
