"""Digest fixtures: a real SMTP server on loopback, the mail site and composer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from papertide.digest.compose import MailComposer, MailSite
from tests.digest.digest_data import SECRET
from tests.digest.smtp_sink import SmtpSink


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def site() -> MailSite:
    return MailSite(
        name="papertide",
        base_url="https://papers.example.org/",
        mail_from="papertide <digest@papers.example.org>",
        secret=SECRET,
        postal_address="1 Example Street, 12345 Springfield",
    )


@pytest.fixture
def composer(site: MailSite) -> MailComposer:
    return MailComposer(site)
