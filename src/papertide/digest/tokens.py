"""Signed links for subscribers: confirm, manage preferences, unsubscribe. Pure, clock passed in.

A token is ``<subscriber id>.<issued, base 36 seconds>.<MAC>``. The MAC (HMAC-SHA256 under a
key derived per purpose from the site secret) covers the purpose, the id, the issue time and
the subscriber's address, so a token is void once the address behind the id changes, and a
token for one purpose never works for another. Nothing is stored: the address stays out of
the URL, and checking a token needs one primary-key read.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from papertide.domain.errors import PapertideError

Purpose = Literal["confirm", "manage", "unsubscribe"]
_MAC_BYTES = 18
MAX_TOKEN_LENGTH = 80
# Subscriber ids are INTEGER columns: 32-bit on PostgreSQL; a larger id names no subscriber and
# would only reach the database as an overflow error (issue 9: OverflowError at 2**63 on SQLite).
MAX_SUBSCRIBER_ID = 2**31 - 1
_MAC_CHARS = len(base64.urlsafe_b64encode(bytes(_MAC_BYTES)))
_CANONICAL = re.compile(
    rf"(?P<id>0|[1-9][0-9]*)\.(?P<issued>0|[1-9a-z][0-9a-z]*)\.(?P<mac>[A-Za-z0-9_-]{{{_MAC_CHARS}}})"
)
_NOT_VALID = "This link is not valid: it may have been cut short or altered."


class InvalidToken(PapertideError):
    """A link that was altered, forged, or is not for this page."""


class ExpiredToken(InvalidToken):
    """A genuine link that is too old to use."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a token says before its signature is checked against the subscriber's address."""

    subscriber_id: int
    issued_at: dt.datetime


@lru_cache(maxsize=16)
def _key(secret: str, purpose: Purpose) -> bytes:
    """The per-purpose key, derived once per (secret, purpose): a digest run signs two tokens per message."""
    return hmac.digest(secret.encode("utf-8"), f"papertide.digest.{purpose}".encode("ascii"), hashlib.sha256)


def _mac(secret: str, purpose: Purpose, subscriber_id: int, issued: int, email: str) -> str:
    message = f"{subscriber_id}\n{issued}\n{email}".encode()
    digest = hmac.digest(_key(secret, purpose), message, hashlib.sha256)[:_MAC_BYTES]
    return base64.urlsafe_b64encode(digest).decode("ascii")


@lru_cache(maxsize=64)
def _base36(number: int) -> str:
    # Cached: a digest run signs two tokens per message with the same issue second.
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, remainder = divmod(number, 36)
        text = digits[remainder] + text
        if not number:
            return text


def sign_token(secret: str, purpose: Purpose, subscriber_id: int, email: str, issued_at: dt.datetime) -> str:
    """A token for ``purpose`` bound to the subscriber's id and address."""
    issued = int(issued_at.timestamp())
    return f"{subscriber_id}.{_base36(issued)}.{_mac(secret, purpose, subscriber_id, issued, email)}"


def parse_token(token: str) -> TokenClaims:
    """Read a token's id and issue time; the caller then loads the subscriber and calls ``check_token``.

    Only the exact form ``sign_token`` writes is read (issue 9): no leading zeros, signs or
    spaces (``int()`` accepts all three, which made one token readable in many spellings), an
    id that fits the database's 64-bit integer, and a MAC of the right length and alphabet.
    """
    match = _CANONICAL.fullmatch(token) if isinstance(token, str) and len(token) <= MAX_TOKEN_LENGTH else None
    if match is None:
        raise InvalidToken(_NOT_VALID)
    subscriber_id = int(match.group("id"))
    if subscriber_id > MAX_SUBSCRIBER_ID:
        raise InvalidToken(_NOT_VALID)
    try:
        issued_at = dt.datetime.fromtimestamp(int(match.group("issued"), 36), dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidToken(_NOT_VALID) from None
    return TokenClaims(subscriber_id=subscriber_id, issued_at=issued_at)


def check_token(
    secret: str,
    purpose: Purpose,
    token: str,
    email: str,
    *,
    now: dt.datetime,
    max_age: dt.timedelta | None,
) -> TokenClaims:
    """Verify the MAC for this subscriber's address and the age; raises InvalidToken or ExpiredToken."""
    claims = parse_token(token)
    issued = int(claims.issued_at.timestamp())
    expected = _mac(secret, purpose, claims.subscriber_id, issued, email)
    if not hmac.compare_digest(expected, token.rsplit(".", 1)[1]):
        raise InvalidToken(_NOT_VALID)
    if max_age is not None and now - claims.issued_at > max_age:
        raise ExpiredToken("This link has expired. Ask for a new one from the subscribe box on any page.")
    return claims
