"""What people type into the forms and the API is checked field by field; nothing unsafe gets through."""

from __future__ import annotations

import pytest

from papertide.digest.preferences import InvalidSubscription, parse_email, parse_preferences
from papertide.domain.subscribers import Preferences, Topics


def test_addresses_are_lower_cased_and_trimmed() -> None:
    assert parse_email("  Jane.Doe@Example.ORG ") == "jane.doe@example.org"


def test_an_internationalised_domain_is_stored_in_its_ascii_form() -> None:
    assert parse_email("jane@exämple.org") == "jane@xn--exmple-cua.org"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", "enter an email address"),
        ("not-an-address", "not a valid address"),
        ("jane@localhost", "not a valid address"),
        ("jane@example.org\r\nBcc: victim@example.org", "single line"),
        ("jane@example.org\nBcc: victim@example.org", "single line"),
        ("a" * 250 + "@example.org", "longer than 254"),
    ],
)
def test_bad_addresses_are_refused_with_a_reason(raw: str, expected: str) -> None:
    with pytest.raises(InvalidSubscription) as caught:
        parse_email(raw)
    assert expected in caught.value.problems["email"]


def test_a_full_form_becomes_preferences() -> None:
    preferences = parse_preferences(
        {
            "frequency": "weekly",
            "hour": "18",
            "timezone": "Europe/Paris",
            "size": "25",
            "categories": "cs.LG, math.DS;hep-th",
            "authors": "Ada Lovelace, A. Turing",
            "topics": "neural ODEs, chaotic  dynamics",
        }
    )
    assert preferences == Preferences(
        frequency="weekly",
        hour=18,
        timezone="Europe/Paris",
        size=25,
        topics=Topics(
            categories=("cs.LG", "math.DS", "hep-th"),
            authors=("Ada Lovelace", "A. Turing"),
            phrases=("neural ODEs", "chaotic dynamics"),
        ),
    )


def test_fields_left_out_keep_their_current_values() -> None:
    current = Preferences(frequency="weekly", hour=9, timezone="Asia/Tokyo", size=12, topics=Topics(("cs.CL",)))
    assert parse_preferences({"size": 6}, current) == Preferences("weekly", 9, "Asia/Tokyo", 6, Topics(("cs.CL",)))


def test_json_lists_are_accepted_and_duplicates_dropped() -> None:
    preferences = parse_preferences({"topics": ["Neural ODEs", "neural odes", "graphs"], "categories": []})
    assert preferences.topics.phrases == ("Neural ODEs", "graphs")


@pytest.mark.parametrize(
    ("form", "field", "expected"),
    [
        ({"frequency": "hourly"}, "frequency", "daily, weekly, paused"),
        ({"hour": "24"}, "hour", "0 to 23"),
        ({"hour": "seven"}, "hour", "0 to 23"),
        ({"size": "4"}, "size", "5 to 30"),
        ({"size": "31"}, "size", "5 to 30"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "unknown time zone"),
        ({"timezone": "../../etc/passwd"}, "timezone", "unknown time zone"),
        ({"categories": "computer science"}, "categories", "not an arXiv category"),
        ({"topics": "x" * 101}, "topics", "longer than 100"),
        ({"topics": [f"topic {i}" for i in range(11)]}, "topics", "at most 10"),
        ({"topics": ["neural ODEs\r\nBcc: victim@example.org"]}, "topics", "single line"),
        ({"authors": ["Ada\nLovelace"]}, "authors", "single line"),
        ({"timezone": "UTC\r\nX-Injected: 1"}, "timezone", "single line"),
    ],
)
def test_each_bad_field_is_named_with_what_is_wrong(form: dict[str, object], field: str, expected: str) -> None:
    with pytest.raises(InvalidSubscription) as caught:
        parse_preferences(form)  # type: ignore[arg-type]
    assert expected in caught.value.problems[field]


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(InvalidSubscription) as caught:
        parse_preferences({"hour": "99", "size": "1", "timezone": "Nowhere"})
    assert set(caught.value.problems) == {"hour", "size", "timezone"}
