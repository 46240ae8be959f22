"""The search query syntax: free text, "quoted phrases" and field filters, parsed without I/O.

Syntax (docs/search.md): words and ``"exact phrases"`` are searched; ``author:"Ada Lovelace"``
(all given authors must be on the paper), ``cat:cs.LG`` (any of the given categories; ``cat:cs``
is the whole archive; ``cat:cs.LG,stat.ML`` lists several), ``since:2025-01-01`` and ``until:...``
(a day, a month ``2025-01`` or a year ``2025``) narrow the results. Filters combine with AND.
A word that only looks like a filter (``arXiv:2401.00001``, ``ODE:``) stays free text; a near miss
of a filter name (``autor:``) is an error so that a typo never silently searches for the text.
"""

from __future__ import annotations

import calendar
import datetime as dt
import difflib
import re
from dataclasses import dataclass

from papertide.domain.errors import InvalidQuery
from papertide.domain.plain_text import text_problem

MAX_QUERY_CHARS = 1000
MAX_TERMS = 64

_FIELD_NAMES = {"author": "author", "cat": "cat", "category": "cat", "since": "since", "until": "until"}
_TOKEN = re.compile(
    r"""(?P<field>[A-Za-z_]+):(?:"(?P<quoted>[^"]*)"|(?P<value>[^\s"]*))
      | "(?P<phrase>[^"]*)"
      | (?P<word>[^\s"]+)""",
    re.VERBOSE,
)
_CATEGORY = re.compile(r"^[a-z][a-z\-]*(?:\.[a-z][a-z\-]*)?$", re.IGNORECASE)
_DATE = re.compile(r"^(?P<year>\d{4})(?:-(?P<month>\d{1,2})(?:-(?P<day>\d{1,2}))?)?$")
_EXAMPLES = {
    "author": 'author:"Ada Lovelace"',
    "cat": "cat:cs.LG",
    "since": "since:2025-01-01",
    "until": "until:2025-12-31",
}


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A parsed query: what to rank by (text) and what every result must satisfy (filters)."""

    words: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    since: dt.date | None = None
    until: dt.date | None = None
    # Words and phrases in the order typed, quotes removed: what the embedding model reads.
    text: str = ""

    @property
    def has_text(self) -> bool:
        """Whether there is anything to rank by (otherwise the query only filters)."""
        return bool(self.words or self.phrases)

    @property
    def has_filters(self) -> bool:
        """Whether results must satisfy something beyond ranking (phrases count: they are required)."""
        return bool(self.phrases or self.authors or self.categories or self.since or self.until)

    @property
    def is_empty(self) -> bool:
        """Nothing to search for and nothing to filter by."""
        return not self.has_text and not self.has_filters

    @property
    def highlight_terms(self) -> tuple[str, ...]:
        """The words a result page marks in titles and snippets."""
        phrase_words = tuple(word for phrase in self.phrases for word in phrase.split())
        return self.words + phrase_words

    def describe(self) -> str:
        """A canonical one-line form, as --explain prints it."""
        parts = [*self.words, *(f'"{p}"' for p in self.phrases)]
        parts += [f'author:"{a}"' for a in self.authors]
        if self.categories:
            parts.append("cat:" + ",".join(self.categories))
        if self.since:
            parts.append(f"since:{self.since.isoformat()}")
        if self.until:
            parts.append(f"until:{self.until.isoformat()}")
        return " ".join(parts)


def parse_query(raw: str) -> SearchQuery:
    """Parse the query syntax; raises InvalidQuery with a message that names the problem."""
    if len(raw) > MAX_QUERY_CHARS:
        raise InvalidQuery(f"the query is {len(raw)} characters long; at most {MAX_QUERY_CHARS} are allowed")
    # Tabs and line breaks are only spaces here (a pasted query); other control characters and
    # lone surrogates cannot be searched for, shown or put into a feed (issue 9).
    if problem := text_problem(raw, multiline=True):
        raise InvalidQuery(f"the query {problem}")
    words: list[str] = []
    phrases: list[str] = []
    authors: list[str] = []
    categories: list[str] = []
    dates: dict[str, dt.date] = {}
    text: list[str] = []
    position = 0
    while True:
        while position < len(raw) and raw[position].isspace():
            position += 1
        if position >= len(raw):
            break
        match = _TOKEN.match(raw, position)
        if match is None:
            # Only a lone opening quote fails every alternative of _TOKEN.
            raise InvalidQuery(
                f'unclosed quote: the " at character {position + 1} has no closing "; '
                "close the phrase or remove the quote"
            )
        position = match.end()
        if match.group("phrase") is not None:
            phrase = " ".join(match.group("phrase").split())
            if phrase:
                phrases.append(phrase)
                text.append(phrase)
            continue
        if match.group("word") is not None:
            words.append(match.group("word"))
            text.append(match.group("word"))
            continue
        name = match.group("field")
        field = _FIELD_NAMES.get(name.lower())
        quoted = match.group("quoted")
        if quoted is None and not match.group("value") and raw.startswith('"', position):
            raise InvalidQuery(
                f'unclosed quote: the " at character {position + 1} has no closing "; '
                "close the phrase or remove the quote"
            )
        value = " ".join((quoted if quoted is not None else match.group("value")).split())
        if field is None:
            _reject_near_miss(name)
            # Not a filter: the whole token is free text (e.g. arXiv:2401.00001 or "ODE: ...").
            token = match.group(0)
            if quoted is not None:
                words.append(f"{name}:")
                if value:
                    phrases.append(value)
                text.append(f"{name}: {value}".strip())
            else:
                words.append(token)
                text.append(token)
            continue
        if not value:
            raise InvalidQuery(f"{name}: needs a value, e.g. {_EXAMPLES[field]}")
        if field == "author":
            authors.append(value)
        elif field == "cat":
            categories.extend(_parse_categories(name, value))
        else:
            if field in dates:
                raise InvalidQuery(f"{field}: is given twice; keep one {field}: filter")
            dates[field] = _parse_date(name, value, end_of_period=field == "until")
    if len(words) + len(phrases) > MAX_TERMS:
        raise InvalidQuery(f"the query has {len(words) + len(phrases)} words and phrases; at most {MAX_TERMS}")
    since, until = dates.get("since"), dates.get("until")
    if since and until and since > until:
        raise InvalidQuery(f"since:{since.isoformat()} is after until:{until.isoformat()}, so nothing can match")
    return SearchQuery(
        words=tuple(words),
        phrases=tuple(phrases),
        authors=tuple(dict.fromkeys(authors)),
        categories=tuple(dict.fromkeys(categories)),
        since=since,
        until=until,
        text=" ".join(text),
    )


def _reject_near_miss(name: str) -> None:
    close = difflib.get_close_matches(name.lower(), list(_FIELD_NAMES), n=1, cutoff=0.75)
    if close:
        suggestion = _FIELD_NAMES[close[0]]
        raise InvalidQuery(
            f'unknown filter "{name}:"; did you mean {suggestion}: (e.g. {_EXAMPLES[suggestion]})? '
            f'To search for the text itself, put it in quotes: "{name}: ..."'
        )


def _parse_categories(name: str, value: str) -> list[str]:
    found = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        if not _CATEGORY.match(item):
            raise InvalidQuery(f"{name}: {item!r} is not an arXiv category such as cs.LG, math.DS or the archive cs")
        found.append(item)
    if not found:
        raise InvalidQuery(f"{name}: needs a value, e.g. {_EXAMPLES['cat']}")
    return found


def _parse_date(name: str, value: str, *, end_of_period: bool) -> dt.date:
    """A day, a month or a year; ``until:`` takes the last day of a month or year."""
    match = _DATE.match(value)
    problem = f"{name}: expects a date like 2025-01-01, 2025-01 or 2025, got {value!r}"
    if match is None:
        raise InvalidQuery(problem)
    year = int(match.group("year"))
    month = int(match.group("month") or (12 if end_of_period else 1))
    if not 1 <= month <= 12 or year < 1:
        raise InvalidQuery(problem)
    last_day = calendar.monthrange(year, month)[1]
    day = int(match.group("day")) if match.group("day") else (last_day if end_of_period else 1)
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise InvalidQuery(f"{problem}: {year:04d}-{month:02d} has no day {day}") from None
