"""Handles and display names: what members may choose."""

from __future__ import annotations

import pytest

from papertide.domain.errors import InvalidInput
from papertide.domain.members import parse_display_name, parse_handle, suggest_handle


def test_a_handle_is_lower_cased_and_loses_a_leading_at() -> None:
    assert parse_handle("  @Ada_Lovelace-1 ") == "ada_lovelace-1"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("ab", "3 to 30"),
        ("a" * 31, "3 to 30"),
        ("ada lovelace", "only the letters"),
        ("ada.lovelace", "only the letters"),
        ("adá", "only the letters"),
        ("_ada", "start with a letter"),
        ("admin", "reserved"),
        ("API", "reserved"),
        ("static", "reserved"),
        ("", "choose a handle"),
    ],
)
def test_bad_handles_are_refused_with_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_handle(raw)
    assert refused.value.field == "handle" and reason in refused.value.reason


def test_a_display_name_is_one_visible_line() -> None:
    assert parse_display_name("  Ada   Lovelace ") == "Ada Lovelace"
    for bad in ("Ada\nLovelace", "Ada\u202eecalevoL", "Ada\x00", "", "x" * 81):
        with pytest.raises(InvalidInput):
            parse_display_name(bad)


def test_a_handle_is_suggested_from_the_address() -> None:
    assert suggest_handle("Ada.Lovelace@example.org") == "ada-lovelace"
    assert suggest_handle("admin@example.org") == "admin-reader"
