"""The search results page (``/search``) and the Atom feed of any search (``/search.atom``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from papertide.domain.errors import InvalidQuery
from papertide.domain.query import MAX_QUERY_CHARS
from papertide.search.request import NO_PAPER_PASSES, Mode, SearchPage, SearchRequest, SearchUnavailable, Sort
from papertide.web.deps import ConnDep, SearchDep, SettingsDep, TemplatesDep
from papertide.web.error_model import COMMON_STATUSES, documented, problem_json
from papertide.web.feed_documents import ATOM_TYPE, Feed, FeedEntry, compose_atom, compose_summary
from papertide.web.page_cards import expect_cards
from papertide.web.paper_lookup import fetch_hit_papers

router = APIRouter()
PAGE_SIZE = 20
FEED_SIZE = 50

QueryText = Annotated[str, Query(max_length=MAX_QUERY_CHARS, description="Query in the search syntax.")]
Filter = Annotated[str, Query(max_length=200)]


def compose_filter_query(q: str, *, cat: str = "", author: str = "", since: str = "", until: str = "") -> str:
    """The query text with the search form's filter fields appended in the query syntax.

    The fields are a convenience over the syntax, so both paths share one parser and its errors.
    """
    parts = [q.strip()]
    if cat.strip():
        parts.append("cat:" + ",".join(item for item in cat.replace(" ", ",").split(",") if item))
    if author.strip():
        parts.append('author:"' + author.replace('"', " ").strip() + '"')
    if since.strip():
        parts.append("since:" + since.replace(" ", ""))
    if until.strip():
        parts.append("until:" + until.replace(" ", ""))
    return " ".join(part for part in parts if part)


@router.get("/search", response_class=HTMLResponse, include_in_schema=False)
def search_papers(
    request: Request,
    conn: ConnDep,
    templates: TemplatesDep,
    search: SearchDep,
    q: QueryText = "",
    mode: Mode = "hybrid",
    sort: Sort = "relevance",
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
    cat: Filter = "",
    author: Filter = "",
    since: Filter = "",
    until: Filter = "",
) -> HTMLResponse:
    """Results for ``q`` and the filter fields, twenty a page, matched words highlighted."""
    filters = {"cat": cat, "author": author, "since": since, "until": until}
    text = compose_filter_query(q, **filters)
    context: dict[str, object] = {
        "query": q.strip(),
        "mode": mode,
        "sort": sort,
        "page": page,
        "filters": filters,
        "results": [],
        "result": None,
        "error": None,
        "feed_url": "/search.atom?" + urlencode({"q": text}) if text else None,
    }
    status = 200
    if text:
        try:
            result = search.search(SearchRequest(text=text, mode=mode, sort=sort, page=page, per_page=PAGE_SIZE))
        except InvalidQuery as problem:
            context["error"], status = str(problem), 400
        except SearchUnavailable as problem:
            context["error"], status = str(problem), 503
        else:
            context["result"] = result
            # Filters no stored paper passes: the page names them instead of blaming the words.
            unmet = (notice for notice in result.notices if notice.startswith(NO_PAPER_PASSES))
            context["unmet"] = next((notice.removeprefix(NO_PAPER_PASSES).strip() for notice in unmet), None)
            context["sort"] = result.sort
            results = fetch_hit_papers(conn, result.hits)
            expect_cards(request, [item.id for item, _hit in results])
            context["results"] = results
            context["highlight_query"] = " ".join(result.query.highlight_terms)
            context["pager"] = _pager(q, mode, sort, page, filters, result)
    return templates.TemplateResponse(request, "search.html", context, status_code=status)


def _pager(q: str, mode: str, sort: str, page: int, filters: dict[str, str], result: SearchPage) -> dict[str, str]:
    params = {"q": q, "mode": mode, "sort": sort, **{k: v for k, v in filters.items() if v}}

    def link(number: int) -> str:
        return "/search?" + urlencode({**params, "page": number})

    return {
        "previous": link(page - 1) if page > 1 else "",
        "next": link(page + 1) if result.has_more else "",
    }


@router.get("/search.atom", tags=["feeds"], response_class=Response, responses=documented(*COMMON_STATUSES))
def read_search_feed(
    conn: ConnDep,
    settings: SettingsDep,
    search: SearchDep,
    q: QueryText,
    mode: Mode = "hybrid",
    sort: Sort = "newest",
) -> Response:
    """Any search as an Atom feed: by default its fifty newest results among the most relevant."""
    try:
        result = search.search(SearchRequest(text=q, mode=mode, sort=sort, per_page=FEED_SIZE))
    except (InvalidQuery, SearchUnavailable) as problem:
        return problem_json(400 if isinstance(problem, InvalidQuery) else 503, str(problem))
    base = settings.base_url.rstrip("/")
    now = dt.datetime.now(dt.UTC)
    entries = []
    for stored, _hit in fetch_hit_papers(conn, result.hits):
        paper = stored.paper
        url = f"{base}/papers/{paper.arxiv_id}"
        day = paper.listing_date
        entries.append(
            FeedEntry(
                id=url,
                title=paper.title,
                link=url,
                updated=dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) if day else now,
                summary=compose_summary(paper.abstract),
                authors=paper.authors,
                categories=paper.categories,
            )
        )
    params = urlencode({"q": q, "mode": mode, "sort": sort})
    feed = Feed(
        id=f"{base}/search.atom?{params}",
        title=f"{settings.site_name}: {q}",
        link=f"{base}/search?{params}",
        self_link=f"{base}/search.atom?{params}",
        updated=max((entry.updated for entry in entries), default=now),
        subtitle=f"Papers matching “{q}”." if result.total else f"No close matches for “{q}” yet.",
        entries=entries,
    )
    return Response(compose_atom(feed), media_type=ATOM_TYPE)
