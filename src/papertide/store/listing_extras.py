"""Read Hugging Face's listing extras (submitter, thumbnail, stars, project page) for paper cards."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from papertide.domain.listing_extras import ListingExtras
from papertide.store.schema import paper_signals

HUGGING_FACE = "hf-daily"


def read_listing_extras(conn: Connection, paper_ids: Iterable[int]) -> dict[int, ListingExtras]:
    """Per paper, each extra from its latest Hugging Face listing that has it; papers with none are left out."""
    wanted = sorted(set(paper_ids))
    found: dict[int, dict[str, object]] = {}
    fields = ("submitted_by", "thumbnail_url", "github_stars", "project_page")
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            select(paper_signals.c.paper_id, *(paper_signals.c[name] for name in fields))
            .where(paper_signals.c.paper_id.in_(wanted[start : start + 500]), paper_signals.c.source == HUGGING_FACE)
            .order_by(paper_signals.c.listed_on.desc())
        )
        for row in rows:
            extras = found.setdefault(int(row.paper_id), {})
            for name in fields:
                value = getattr(row, name)
                if value is not None and name not in extras:
                    extras[name] = value
    return {
        paper_id: ListingExtras(
            submitted_by=_text(values.get("submitted_by")),
            thumbnail_url=_text(values.get("thumbnail_url")),
            github_stars=int(stars) if isinstance(stars := values.get("github_stars"), int) else None,
            project_page=_text(values.get("project_page")),
        )
        for paper_id, values in found.items()
        if values
    }


def _text(value: object) -> str | None:
    return str(value) if value is not None else None
