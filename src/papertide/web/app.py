"""The web application's composition root: ``create_app(settings)``."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from papertide import __version__
from papertide.config import Settings
from papertide.domain.clock import utc_now
from papertide.domain.models import Hit
from papertide.domain.periods import parse_time_zone
from papertide.domain.trending import TrendingCandidate, score_trending
from papertide.search.indexer import SearchIndexer, SemanticEngine
from papertide.search.lexical import directory_for, shared_lexical_index
from papertide.search.lexical_plan import FieldWeights
from papertide.search.options import SearchOptions
from papertide.search.query import SearchService
from papertide.search.semantic import SemanticSearcher
from papertide.store.engine import make_engine
from papertide.store.migrate import upgrade_database
from papertide.web.routes import (
    account,
    api_search,
    api_trending,
    feeds,
    health,
    lists,
    pages,
    search,
    subscribe,
    votes,
)
from papertide.web.scheduler import IndexHookFactory, make_scheduler
from papertide.web.security import install_security
from papertide.web.templating import make_templates

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"


def create_app(
    settings: Settings,
    *,
    migrate: bool = True,
    run_jobs: bool = False,
    index_hook: IndexHookFactory | None = None,
) -> FastAPI:
    """Build the app; nothing connects until start-up (or the first request in tests).

    :param migrate: bring the schema up to date at start-up (Alembic), as `papertide serve` does.
    :param run_jobs: run the scheduled jobs (web/scheduler.py) while the app is up; only
        `papertide serve` asks for it, so tests never start background jobs.
    :param index_hook: builds what scheduled ingestion calls with changed paper ids (cli.context).
    """
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            upgrade_database(engine)
        app.state.search.lexical.ensure_open(engine)
        scheduler = None
        if run_jobs and settings.scheduler_enabled:
            scheduler = make_scheduler(settings, engine, index_hook=index_hook)
            scheduler.start()
        yield
        if scheduler is not None:
            scheduler.stop()
        engine.dispose()

    app = FastAPI(
        title=settings.site_name,
        version=__version__,
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.templates = make_templates(settings.templates_dir)
    app.state.secret = settings.secret()
    # Built once per app; the embedding model loads on the first query that needs it (issue 4).
    app.state.search = make_search_service(settings, engine, clock=lambda: _app_now(app))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # lists and votes come before pages: /papers/{arxiv_id:path} would swallow their addresses.
    for module in (health, lists, votes, account, api_trending, api_search, feeds, subscribe, pages, search):
        app.include_router(module.router)
    _install_error_pages(app)
    install_security(app, settings)
    return app


def _app_now(app: FastAPI) -> dt.datetime:
    clock: Callable[[], dt.datetime] = getattr(app.state, "clock", None) or utc_now
    return clock()


def search_options(settings: Settings) -> SearchOptions:
    """The search settings as the search layer takes them."""
    return SearchOptions(
        field_weights=FieldWeights(title=settings.search_title_weight, authors=settings.search_authors_weight),
        fusion=settings.search_fusion,
        fusion_k=settings.search_fusion_k,
        lexical_weight=settings.search_lexical_weight,
        semantic_weight=settings.search_semantic_weight,
        fusion_depth=settings.search_fusion_depth,
        max_results=settings.search_max_results,
        sort_pool=settings.search_sort_pool,
        candidate_limit=settings.search_candidate_limit,
        overfetch=settings.search_overfetch,
    )


def open_shared_semantic(settings: Settings, engine: Engine) -> SemanticSearcher:
    """This process's semantic searcher for the configured model, backend and data directory."""
    from papertide.search.semantic import model_cache_for, vector_directory_for
    from papertide.search.semantic_shared import shared_semantic
    from papertide.search.vector_index import IndexConfig

    index_config = IndexConfig(
        kind=settings.vector_index,
        exact_limit=settings.vector_exact_limit,
        hnsw_m=settings.vector_hnsw_m,
        ef_construction=settings.vector_hnsw_ef_construction,
        ef_search=settings.vector_hnsw_ef_search,
    )
    return shared_semantic(
        engine,
        vector_directory_for(settings.data_dir),
        model=settings.embedding_model,
        backend=settings.embedding_backend,
        cache_dir=model_cache_for(settings.data_dir),
        batch_size=settings.embedding_batch_size,
        threads=settings.embedding_threads,
        index_config=index_config,
    )


def load_semantic(settings: Settings, engine: Engine, *, for_search: bool = True) -> Callable[[], SemanticEngine]:
    """A loader of the semantic searcher, called on first use (the model is not loaded before).

    Search and indexing in one process share one searcher (search/semantic.py). For search it
    raises ModelMismatch while the stored vectors come from another model, so hybrid search
    falls back to words; for indexing it loads anyway, so that `papertide reindex` can fix that.
    """

    def load() -> SemanticEngine:
        searcher = open_shared_semantic(settings, engine)
        if for_search:
            searcher.check()
        return searcher

    return load


def make_search_service(
    settings: Settings, engine: Engine, *, clock: Callable[[], dt.datetime] = utc_now
) -> SearchService:
    """The search service of one process (web app or CLI command); opens nothing yet."""
    zone = parse_time_zone(settings.list_timezone)

    def rank_trending(candidates: Sequence[TrendingCandidate]) -> list[Hit]:
        return score_trending(
            candidates,
            now=clock(),
            zone=zone,
            gravity=settings.trending_gravity,
            offset_hours=settings.trending_offset_hours,
        )

    lexical = shared_lexical_index(directory_for(settings.data_dir))
    return SearchService(engine, lexical, load_semantic(settings, engine), search_options(settings), rank_trending)


def make_search_indexer(settings: Settings, engine: Engine) -> SearchIndexer:
    """The write side of search for ingestion hooks and `papertide index` / `reindex`."""
    lexical = shared_lexical_index(directory_for(settings.data_dir))
    loader = load_semantic(settings, engine, for_search=False)
    return SearchIndexer(engine, lexical, loader, embed_batch_limit=settings.search_embed_batch_limit)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def _install_error_pages(app: FastAPI) -> None:
    def render(request: Request, status: int, title: str, detail: str) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": detail}, status_code=status)
        templates: Jinja2Templates = request.app.state.templates
        return templates.TemplateResponse(
            request, "error.html", {"status": status, "title": title, "detail": detail}, status_code=status
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        titles = {
            404: "Page not found",
            405: "Method not allowed",
            429: "Too many requests",
            403: "Forbidden",
        }
        detail = str(error.detail) if error.detail else titles.get(error.status_code, "Error")
        if error.status_code == 404 and detail == "Not Found":
            detail = "There is nothing at this address. Try a search instead."
        response = render(request, error.status_code, titles.get(error.status_code, "Error"), detail)
        if error.headers:
            response.headers.update(error.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'] if p not in ('query', 'body', 'path'))}: {item['msg']}"
            for item in error.errors()
        )
        if _wants_json(request):
            # jsonable_encoder: the offending input may be bytes (a form body sent to a JSON endpoint).
            return JSONResponse({"detail": problems, "errors": jsonable_encoder(error.errors())}, status_code=422)
        return render(request, 400, "Bad request", problems)

    @app.exception_handler(Exception)
    async def server_error(request: Request, error: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return render(request, 500, "Something went wrong", "The error was logged. Please try again later.")
