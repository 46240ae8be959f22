"""The sign-in mail: composed here from plain arguments, delivered by ``mail.transport``."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from jinja2 import Environment, PackageLoader, select_autoescape

from papertide.domain.limits import clean_output

_ENVIRONMENT = Environment(
    loader=PackageLoader("papertide.mail", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    finalize=clean_output,
)


def _no_line_breaks(value: str, field: str) -> str:
    # A CR or LF in a header value would let it smuggle extra headers.
    if "\r" in value or "\n" in value:
        raise ValueError(f"{field} must not contain line breaks")
    return value


def compose_signin_message(
    *,
    to: str,
    link: str,
    site_name: str,
    mail_from: str,
    valid_minutes: int,
    now: dt.datetime,
) -> EmailMessage:
    """A multipart text + HTML mail carrying a single-use sign-in ``link``."""
    context = {"link": link, "site_name": site_name, "valid_minutes": valid_minutes, "to": to}
    message = EmailMessage()
    message["From"] = _no_line_breaks(mail_from, "mail_from")
    message["To"] = _no_line_breaks(to, "to")
    message["Subject"] = _no_line_breaks(f"Your sign-in link for {site_name}", "site_name")
    message["Date"] = format_datetime(now.astimezone(dt.UTC))
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid("signin", domain=domain)
    # Sign-in links must not be answered automatically or sit in a digest of bulk mail.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(_ENVIRONMENT.get_template("signin.txt.j2").render(context))
    message.add_alternative(_ENVIRONMENT.get_template("signin.html.j2").render(context), subtype="html")
    return message
