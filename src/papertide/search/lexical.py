"""Lexical BM25 search over title (weighted), abstract and authors with SQLite FTS5."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, text

from papertide.domain.errors import InvalidQuery
from papertide.domain.models import Hit
from papertide.domain.text import tokenize

# bm25() column weights for (title, abstract, authors): a title match counts several abstract matches.
TITLE_WEIGHT = 5.0
ABSTRACT_WEIGHT = 1.0
AUTHORS_WEIGHT = 2.0

_PHRASE = re.compile(r'"([^"]*)"')


@dataclass(frozen=True)
class LexicalQuery:
    """Free words ranked as any-term, and phrases every hit must contain."""

    words: tuple[str, ...]
    phrases: tuple[tuple[str, ...], ...]


def parse_lexical_query(query: str) -> LexicalQuery:
    """Split a query into free words and quoted phrases."""
    if query.count('"') % 2:
        raise InvalidQuery('unbalanced quote: close every "phrase" with a second "')
    phrases = tuple(tuple(tokenize(p)) for p in _PHRASE.findall(query) if tokenize(p))
    words = tuple(tokenize(_PHRASE.sub(" ", query)))
    return LexicalQuery(words=words, phrases=phrases)


def build_match_expression(query: LexicalQuery) -> str:
    """The FTS5 MATCH expression: every phrase required, free words OR-ed for ranking."""
    parts = ['"' + " ".join(phrase) + '"' for phrase in query.phrases]
    if query.words:
        any_word = " OR ".join(f'"{word}"' for word in query.words)
        parts.append(f"({any_word})" if parts else any_word)
    return " AND ".join(parts)


def build_search_sql(limit: int) -> str:
    """SQL of a ranked FTS5 query; bound parameter ``:match``."""
    return (
        "SELECT rowid AS paper_id, "
        f"-bm25(papers_fts, {TITLE_WEIGHT}, {ABSTRACT_WEIGHT}, {AUTHORS_WEIGHT}) AS score "
        f"FROM papers_fts WHERE papers_fts MATCH :match ORDER BY score DESC LIMIT {int(limit)}"
    )


def search_lexical(conn: Connection, query: str, limit: int = 10) -> list[Hit]:
    """BM25-ranked hits for a free-text query with optional quoted phrases."""
    parsed = parse_lexical_query(query)
    match = build_match_expression(parsed)
    if not match:
        return []
    rows = conn.execute(text(build_search_sql(limit)), {"match": match})
    return [Hit(paper_id=int(row.paper_id), score=float(row.score)) for row in rows]
