"""Papers as the routes look them up: one by arXiv id (or a 404 that says why), or those of search hits.

Shared by the pages, the API and the feeds, so they answer the same address the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import HTTPException
from sqlalchemy import Connection

from papertide.domain.errors import InvalidRecord
from papertide.domain.identifiers import parse_arxiv_id
from papertide.domain.models import Hit, StoredPaper
from papertide.store.papers import get_paper_by_arxiv_id, get_papers


def fetch_paper(conn: Connection, arxiv_id: str, *, missing: str = "") -> StoredPaper:
    """The stored paper behind an arXiv id, old or new style, a version suffix ignored; else a 404.

    :param missing: said after "No paper X in this collection" when it is not stored.
    """
    try:
        key, _version = parse_arxiv_id(arxiv_id)
    except InvalidRecord:
        raise HTTPException(404, f"{arxiv_id!r} is not an arXiv identifier.") from None
    stored = get_paper_by_arxiv_id(conn, key)
    if stored is None:
        raise HTTPException(404, f"No paper {key} in this collection{missing}.")
    return stored


def fetch_hit_papers(conn: Connection, hits: Sequence[Hit]) -> list[tuple[StoredPaper, Hit]]:
    """Each hit with its paper, in rank order; a paper deleted since it was indexed is left out."""
    papers = {stored.id: stored for stored in get_papers(conn, [hit.paper_id for hit in hits])}
    return [(papers[hit.paper_id], hit) for hit in hits if hit.paper_id in papers]
