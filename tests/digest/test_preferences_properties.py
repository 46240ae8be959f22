"""Property-based tests of the subscription and preferences input (issue 9): stored text is always plain text."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from papertide.digest.preferences import InvalidSubscription, parse_email, parse_preferences
from papertide.domain.plain_text import text_problem
from papertide.domain.subscribers import Preferences

FIELDS = ["frequency", "hour", "timezone", "size", "categories", "authors", "topics"]
# st.text never yields surrogates; JSON's "\\ud800" escapes do, so they are mixed in.
SURROGATE = st.sampled_from(["\ud800", "\udfff", "\udc80"])
TEXT = (
    st.text(max_size=40)
    | st.sampled_from(["daily", "weekly", "7", "23", "10", "Europe/Paris", "cs.LG", "Ada"])
    | st.builds(lambda a, s, b: a + s + b, st.text(max_size=8), SURROGATE, st.text(max_size=8))
)
VALUE = TEXT | st.lists(TEXT, max_size=4) | st.integers(min_value=-(2**70), max_value=2**70) | st.none()
FORM = st.dictionaries(st.sampled_from(FIELDS), VALUE, max_size=len(FIELDS))


def _stored_text(preferences: Preferences) -> list[str]:
    topics = preferences.topics
    return [preferences.frequency, preferences.timezone, *topics.categories, *topics.authors, *topics.phrases]


@example(form={"topics": ["chaos \ud800"]})  # issue 9: stored, then the page failed for ever
@example(form={"authors": "Ada \udfff, Alan"})
@given(form=FORM)
def test_preferences_parse_to_plain_text_or_name_every_bad_field(form: dict[str, object]) -> None:
    try:
        preferences = parse_preferences(form)  # type: ignore[arg-type]
    except InvalidSubscription as error:
        assert error.problems and set(error.problems) <= set(FIELDS)
        return
    for text in _stored_text(preferences):
        assert text_problem(text) is None, text
    assert 0 <= preferences.hour <= 23 and 5 <= preferences.size <= 30


@given(raw=st.text(max_size=60) | st.emails().map(lambda e: f" {e.upper()} "))
def test_an_email_parses_to_a_plain_ascii_address_or_says_why_not(raw: str) -> None:
    try:
        address = parse_email(raw)
    except InvalidSubscription as error:
        assert set(error.problems) == {"email"}
        return
    assert address.isascii() and address == address.lower() and text_problem(address) is None
