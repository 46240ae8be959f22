"""The one reading of an email address that a person typed: sign-in, subscribe, the API and the CLI.

Pure: text in, the address papertide stores and mails to out, or :class:`InvalidAddress`
saying what is wrong. Addresses are kept ASCII (an internationalised domain in its IDNA
form, no non-ASCII local part) so every mail server can deliver to them without SMTPUTF8,
and lower-cased so one mailbox is one account and one subscriber.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from papertide.domain.errors import PapertideError
from papertide.domain.plain_text import text_problem

MAX_EMAIL_LENGTH = 254


class InvalidAddress(PapertideError, ValueError):
    """Text that is not an address papertide can mail to; the message says why."""


def single_line_problem(value: str) -> str | None:
    """Why a one-line form field cannot be used as is (a line break, control character or surrogate), else None.

    A CR or LF is refused outright rather than cleaned: it can only come from a crafted
    request trying to smuggle mail headers.
    """
    return text_problem(value)


def parse_address(value: str) -> str:
    """The address trimmed, checked for syntax and lower-cased, in ASCII; raises InvalidAddress."""
    text = value.strip() if isinstance(value, str) else ""
    problem = single_line_problem(text)
    if problem:
        raise InvalidAddress(problem)
    if not text:
        raise InvalidAddress("enter an email address")
    if len(text) > MAX_EMAIL_LENGTH:
        raise InvalidAddress(f"is longer than {MAX_EMAIL_LENGTH} characters")
    try:
        result = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise InvalidAddress(f"{text!r} is not a valid address: {error}") from None
    return str(result.ascii_email or result.normalized).lower()
