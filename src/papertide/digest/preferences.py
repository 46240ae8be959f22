"""Reading what a person typed into the subscribe and preferences forms (or the JSON API).

Pure: text in, a normalised address or a :class:`Preferences` out, or an error naming every
bad field. Nothing here reaches the database, so a rejected form stores nothing. Every field
is single-line; a CR or LF anywhere is refused outright rather than cleaned, because it can
only come from a crafted request (header injection).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from zoneinfo import available_timezones

from papertide.domain.errors import PapertideError
from papertide.domain.subscribers import FREQUENCIES, Preferences, Topics
from papertide.mail.address import InvalidAddress, parse_address, single_line_problem

MIN_SIZE = 5
MAX_SIZE = 30
MAX_CATEGORIES = 20
MAX_AUTHORS = 20
MAX_TOPICS = 10
MAX_ITEM_LENGTH = 100
# arXiv archive and subject class: cs.LG, math.AP, hep-th, q-bio.NC, cond-mat.stat-mech.
_CATEGORY = re.compile(r"[a-z][a-z-]*(\.[A-Za-z][A-Za-z-]*)?")
_SEPARATOR = re.compile(r"[,;]")
FormValue = str | list[str] | tuple[str, ...] | int | None


class InvalidSubscription(PapertideError, ValueError):
    """An address or preferences that cannot be stored; ``problems`` maps each field to what is wrong."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__("; ".join(f"{name}: {message}" for name, message in self.problems.items()))


@lru_cache(maxsize=1)
def known_time_zones() -> frozenset[str]:
    """IANA names zoneinfo can load here (the system database or the tzdata package)."""
    return frozenset(available_timezones() | {"UTC"})


def parse_email(value: str) -> str:
    """The address as mail/address.py reads it (the one parser sign-in uses too), or InvalidSubscription."""
    try:
        return parse_address(value)
    except InvalidAddress as error:
        raise InvalidSubscription({"email": str(error)}) from None


def _items(value: FormValue) -> list[str]:
    if value is None:
        return []
    if isinstance(value, int):
        return [str(value)]
    if isinstance(value, str):
        return [part for part in _SEPARATOR.split(value)]
    return [str(part) for part in value]


def _parse_list(name: str, value: FormValue, limit: int, problems: dict[str, str]) -> tuple[str, ...]:
    cleaned: list[str] = []
    for raw in _items(value):
        problem = single_line_problem(raw)
        if problem:
            problems[name] = f"{raw.strip()[:40]!r} {problem}"
            return ()
        item = " ".join(raw.split())
        if not item:
            continue
        if len(item) > MAX_ITEM_LENGTH:
            problems[name] = f"{item[:40]!r}... is longer than {MAX_ITEM_LENGTH} characters"
            return ()
        if item.casefold() not in {existing.casefold() for existing in cleaned}:
            cleaned.append(item)
    if len(cleaned) > limit:
        problems[name] = f"follow at most {limit} (got {len(cleaned)})"
        return ()
    return tuple(cleaned)


def _parse_int(name: str, value: FormValue, low: int, high: int, problems: dict[str, str]) -> int:
    text = str(value).strip() if value is not None and not isinstance(value, list | tuple) else ""
    if text.isascii() and text.lstrip("-").isdigit() and low <= int(text) <= high:
        return int(text)
    problems[name] = f"must be a whole number from {low} to {high}, got {text[:20]!r}"
    return low


def parse_preferences(form: Mapping[str, FormValue], current: Preferences | None = None) -> Preferences:
    """Preferences from form or JSON fields; fields left out keep their ``current`` value.

    Lists (categories, authors, topics) come as JSON arrays or as one line separated by
    commas or semicolons. Raises InvalidSubscription naming every bad field.
    """
    base = current or Preferences()
    problems: dict[str, str] = {}
    for name, value in form.items():
        if isinstance(value, str) and name != "csrf_token" and (problem := single_line_problem(value)):
            problems[name] = problem
    frequency = str(form.get("frequency", base.frequency) or "").strip()
    if frequency not in FREQUENCIES:
        problems["frequency"] = f"must be one of {', '.join(FREQUENCIES)}, got {frequency[:20]!r}"
    hour = _parse_int("hour", form.get("hour", base.hour), 0, 23, problems)
    size = _parse_int("size", form.get("size", base.size), MIN_SIZE, MAX_SIZE, problems)
    timezone = str(form.get("timezone", base.timezone) or "").strip()
    if "timezone" not in problems and timezone not in known_time_zones():
        problems["timezone"] = f"unknown time zone {timezone[:64]!r}: use an IANA name such as Europe/Paris or UTC"
    topics = base.topics
    categories = _parse_list("categories", form.get("categories", list(topics.categories)), MAX_CATEGORIES, problems)
    for category in categories:
        if not _CATEGORY.fullmatch(category):
            problems["categories"] = f"{category!r} is not an arXiv category such as cs.LG or hep-th"
            break
    authors = _parse_list("authors", form.get("authors", list(topics.authors)), MAX_AUTHORS, problems)
    phrases = _parse_list("topics", form.get("topics", list(topics.phrases)), MAX_TOPICS, problems)
    if problems:
        raise InvalidSubscription(problems)
    return Preferences(
        frequency=frequency,
        hour=hour,
        timezone=timezone,
        size=size,
        topics=Topics(categories=categories, authors=authors, phrases=phrases),
    )
