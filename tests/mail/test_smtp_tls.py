"""SMTP over implicit TLS and STARTTLS, with AUTH: smtplib opens the connection, papertide's writes and reader send.

The server is aiosmtpd with a certificate made for the test by the openssl command; the
transport trusts only that certificate (its ``tls_context``), as a real one trusts the system's CAs.
"""

from __future__ import annotations

import datetime as dt
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from papertide.digest.compose import MailComposer, MailSite
from papertide.mail.transport import PermanentFailure, RawMessage, SmtpTransport
from tests.digest.smtp_sink import SmtpSink

NOW = dt.datetime(2026, 8, 21, 7, tzinfo=dt.UTC)
pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def client_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def check_password(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    good = isinstance(data, LoginPassword) and (data.login, data.password) == (b"digest", b"s3cret pass")
    return AuthResult(success=good, handled=False)


@pytest.fixture
def starttls_sink(certificate: tuple[Path, Path]) -> Iterator[SmtpSink]:
    sink = SmtpSink(
        tls_context=server_context(certificate), require_starttls=True, authenticator=check_password, auth_required=True
    ).start()
    yield sink
    sink.stop()


@pytest.fixture
def implicit_tls_sink(certificate: tuple[Path, Path]) -> Iterator[SmtpSink]:
    sink = SmtpSink(ssl_context=server_context(certificate)).start()
    yield sink
    sink.stop()


@pytest.fixture
def composer() -> MailComposer:
    return MailComposer(
        MailSite(name="papertide", base_url="https://papers.example.org/", mail_from="d@example.org", secret="s")
    )


def confirmation(composer: MailComposer, number: int) -> RawMessage:
    return composer.compose_confirmation(
        subscriber_id=number, email=f"reader{number}@example.org", already_subscribed=False, valid_days=7, now=NOW
    )


def test_messages_go_out_over_starttls_after_auth_and_the_connection_ends_with_quit(
    starttls_sink: SmtpSink, composer: MailComposer, certificate: tuple[Path, Path]
) -> None:
    url = f"smtp://digest:s3cret%20pass@127.0.0.1:{starttls_sink.port}?starttls=true"
    messages = [confirmation(composer, 1), confirmation(composer, 2)]
    with SmtpTransport(url, tls_context=client_context(certificate)) as transport:
        for message in messages:
            transport.send(message)
        assert transport._client is not None and transport._client.has_extn("pipelining")
    received = starttls_sink.received
    assert [m.data for m in received] == [m.data for m in messages]
    assert [m.recipients for m in received] == [("reader1@example.org",), ("reader2@example.org",)]
    assert len({m.session for m in received}) == 1 and starttls_sink.sessions_without_quit == set()


def test_a_refused_password_over_starttls_is_a_permanent_failure(
    starttls_sink: SmtpSink, composer: MailComposer, certificate: tuple[Path, Path]
) -> None:
    url = f"smtp://digest:wrong@127.0.0.1:{starttls_sink.port}?starttls=true"
    with pytest.raises(PermanentFailure, match="login refused"):
        SmtpTransport(url, tls_context=client_context(certificate)).send(confirmation(composer, 1))
    assert starttls_sink.received == []


def test_messages_go_out_over_implicit_tls_with_the_same_bytes_as_composed(
    implicit_tls_sink: SmtpSink, composer: MailComposer, certificate: tuple[Path, Path]
) -> None:
    message = confirmation(composer, 1)
    with SmtpTransport(f"smtps://127.0.0.1:{implicit_tls_sink.port}", tls_context=client_context(certificate)) as t:
        t.send(message)
        t.send(confirmation(composer, 2))
    received = implicit_tls_sink.received
    assert received[0].data == message.data
    assert [m.recipients for m in received] == [("reader1@example.org",), ("reader2@example.org",)]
    assert implicit_tls_sink.sessions_without_quit == set()
