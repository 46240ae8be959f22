"""Read side of search: a query string in, ranked hits out."""

from __future__ import annotations

from sqlalchemy import Connection

from papertide.domain.models import Hit
from papertide.search.lexical import search_lexical


def search(conn: Connection, query: str, *, limit: int = 10, offset: int = 0) -> list[Hit]:
    """Ranked hits for ``query``, skipping ``offset`` of them."""
    hits = search_lexical(conn, query, limit=limit + offset)
    return hits[offset : offset + limit]
