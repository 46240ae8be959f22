"""Property-based tests of the signed-link tokens (issue 9): any string is a valid token or InvalidToken."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from papertide.digest.tokens import InvalidToken, check_token, parse_token, sign_token

# Subscriber ids are INTEGER columns: 32-bit on PostgreSQL.
MAX_SUBSCRIBER_ID = 2**31 - 1

SECRET = "property-test-secret-key-0123456789"
PURPOSES = st.sampled_from(["confirm", "manage", "unsubscribe"])
IDS = st.integers(min_value=1, max_value=MAX_SUBSCRIBER_ID)
MOMENTS = st.datetimes(
    min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2200, 1, 1), timezones=st.just(dt.UTC)
).map(lambda moment: moment.replace(microsecond=0))
EMAILS = st.emails()
# Strings shaped like tokens, with the spellings int() also accepts (signs, spaces, leading zeros, other digits).
PIECE = st.text(alphabet=st.sampled_from("0123456789abcxyzAZ_-+ .٤\t"), max_size=30)
GENUINE = st.builds(lambda i, e, m: sign_token(SECRET, "unsubscribe", i, e, m), IDS, EMAILS, MOMENTS)


def _respelled(token: str, part: int, prefix: str) -> str:
    parts = token.split(".")
    parts[part] = prefix + parts[part]
    return ".".join(parts)


# A genuine token with one part respelled the way int() still reads it (issue 9: 04.x, 4.+x, 4. x).
RESPELLED = st.builds(_respelled, GENUINE, st.sampled_from([0, 1]), st.sampled_from(["0", "+", " ", "00", "\t"]))
TOKEN_LIKE = (
    RESPELLED | st.builds(lambda a, b, c: f"{a}.{b}.{c}", PIECE, PIECE, PIECE) | GENUINE | st.text(max_size=100)
)


@given(token=TOKEN_LIKE)
def test_any_string_reads_as_claims_or_is_an_invalid_token(token: str) -> None:
    try:
        claims = parse_token(token)
    except InvalidToken:
        return
    assert 0 <= claims.subscriber_id <= MAX_SUBSCRIBER_ID
    # Only the canonical spelling is read: writing the claims back gives the same text.
    subscriber_id, issued, _mac = token.split(".")
    assert subscriber_id == str(claims.subscriber_id)
    assert (
        int(issued, 36) == int(claims.issued_at.timestamp()) and issued == issued.lower().lstrip("0")
    ) or issued == "0"


@given(purpose=PURPOSES, subscriber_id=IDS, email=EMAILS, issued=MOMENTS)
def test_a_signed_token_round_trips_and_checks(
    purpose: str, subscriber_id: int, email: str, issued: dt.datetime
) -> None:
    token = sign_token(SECRET, purpose, subscriber_id, email, issued)  # type: ignore[arg-type]
    claims = check_token(SECRET, purpose, token, email, now=issued, max_age=None)  # type: ignore[arg-type]
    assert (claims.subscriber_id, claims.issued_at) == (subscriber_id, issued)


@given(subscriber_id=IDS, email=EMAILS, issued=MOMENTS, position=st.integers(min_value=0), char=st.characters())
def test_any_one_character_change_makes_a_token_invalid(
    subscriber_id: int, email: str, issued: dt.datetime, position: int, char: str
) -> None:
    token = sign_token(SECRET, "unsubscribe", subscriber_id, email, issued)
    index = position % len(token)
    altered = token[:index] + char + token[index + 1 :]
    if altered == token:
        return
    try:
        check_token(SECRET, "unsubscribe", altered, email, now=issued, max_age=None)
    except InvalidToken:
        return
    raise AssertionError(f"{altered!r} was accepted in place of {token!r}")
