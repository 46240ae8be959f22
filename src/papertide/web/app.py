"""The web application: ``create_app(settings)`` wires the routes to one ``Services`` object."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from threadpoolctl import threadpool_limits

from papertide import __version__
from papertide.config import Settings
from papertide.domain.clock import Clock, utc_now
from papertide.domain.plain_text import scrub_text
from papertide.services import Services
from papertide.store.busy import RETRY_AFTER_SECONDS, is_database_busy
from papertide.store.migrate import upgrade_database
from papertide.web.error_model import is_machine_path, problem_json
from papertide.web.forwarded import install_forwarded
from papertide.web.head import HeadAsGetMiddleware
from papertide.web.input_guard import check_request_text
from papertide.web.problems import install_problem_handlers
from papertide.web.routes import ROUTERS
from papertide.web.routes.api_docs import ASSETS_PATH, SWAGGER_UI_DIR
from papertide.web.security import SECURITY_HEADERS, install_security
from papertide.web.templating import make_templates, site_from_settings

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"


def create_app(
    settings: Settings,
    *,
    services: Services | None = None,
    migrate: bool = True,
    run_jobs: bool = False,
    maintain_indexes: bool = False,
) -> FastAPI:
    """Build the app; nothing connects until start-up (or the first request in tests).

    :param services: what the routes and jobs use (services.py); `papertide serve` passes the
        ones it built, otherwise they are built here from ``settings``, on the app's clock
        (``app.state.clock`` when a test sets one).
    :param migrate: bring the schema up to date at start-up (Alembic), as `papertide serve` does.
    :param run_jobs: run the scheduled jobs (jobs.py) while the app is up; only `papertide serve`
        asks for it, so tests never start background jobs.
    :param maintain_indexes: run the index maintenance loop (search/maintenance.py), which
        writes vector snapshots and large index catch-ups outside requests; `papertide serve`
        asks for it, with or without jobs.
    """
    if services is None:
        services = Services(settings, clock=lambda: _app_now(app))
    elif services.settings is not settings:
        raise ValueError("create_app: services were built from other settings")
    built = services

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            upgrade_database(built.engine)
        built.lexical.ensure_open()
        scheduler = None
        if run_jobs and settings.scheduler_enabled:
            scheduler = built.make_scheduler()
            scheduler.start()
        maintainer = built.make_index_maintainer() if maintain_indexes else None
        if maintainer is not None:
            maintainer.start()
        # numpy's BLAS (OpenBLAS) starts a thread per core for every vector search and spins
        # them: with dozens of requests at once on a few cores that cost a third of a semantic
        # search's CPU (issue 9, bench/load.py). Concurrent requests are the parallelism here.
        # numpy is loaded first (only a loaded library can be limited); the limit is held for
        # the app's life and given back after (a context, so another thread may set it later).
        # faiss's own OpenBLAS is an OpenMP build with per-thread settings: not reached here, and
        # the vector search does its products with numpy (search/semantic/index.py).
        importlib.import_module("numpy")
        with threadpool_limits(limits=1, user_api="blas"):
            yield
        if scheduler is not None:
            scheduler.stop()
        if maintainer is not None:
            maintainer.stop()
        built.close()

    app = FastAPI(
        title=settings.site_name,
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # served from the package by routes/api_docs.py, not a CDN
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        # Every route refuses query and path text that is not valid text with a 400 (issue 9).
        dependencies=[Depends(check_request_text)],
    )
    app.state.services = services
    # Kept beside the services for the middleware and the pages that read them directly.
    app.state.settings = settings
    app.state.engine = services.engine
    app.state.templates = make_templates(settings.templates_dir, site_from_settings(settings))
    app.state.secret = services.secret
    # The mail templates are compiled here once, not inside the first request that mails.
    app.state.composer = services.composer
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount(ASSETS_PATH, StaticFiles(directory=SWAGGER_UI_DIR), name="api-docs-assets")
    for router in ROUTERS:  # in this order: see web/routes/__init__.py
        app.include_router(router)
    _install_error_pages(app)
    install_problem_handlers(app)
    install_security(app, settings)
    app.add_middleware(HeadAsGetMiddleware)
    install_forwarded(app, settings)
    return app


def _app_now(app: FastAPI) -> dt.datetime:
    clock: Clock = getattr(app.state, "clock", None) or utc_now
    return clock()


def _wants_json(request: Request) -> bool:
    """API and feed clients get JSON errors (web/error_model.py); browsers get the error page."""
    return is_machine_path(request.url.path) or "application/json" in request.headers.get("accept", "")


def _field_name(location: tuple[int | str, ...] | list[int | str]) -> str:
    return ".".join(scrub_text(str(part)) for part in location if part not in ("query", "body", "path")) or "request"


def _install_error_pages(app: FastAPI) -> None:
    def render(
        request: Request,
        status: int,
        title: str,
        detail: str,
        *,
        errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        if _wants_json(request):
            return problem_json(status, detail, errors=errors, headers=headers)
        templates: Jinja2Templates = request.app.state.templates
        return templates.TemplateResponse(
            request,
            "error.html",
            {"status": status, "title": title, "detail": scrub_text(detail)},
            status_code=status,
            headers=headers,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        titles = {
            400: "Bad request",
            404: "Page not found",
            405: "Method not allowed",
            422: "Bad request",
            429: "Too many requests",
            403: "Forbidden",
        }
        detail = str(error.detail) if error.detail else titles.get(error.status_code, "Error")
        if error.status_code == 404 and detail == "Not Found":
            detail = "There is nothing at this address. Try a search instead."
        title = titles.get(error.status_code, "Error")
        return render(request, error.status_code, title, detail, headers=dict(error.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        # Only the location and message of each problem: the input itself may be anything
        # (bytes, a lone surrogate, megabytes) and is not echoed back.
        errors: dict[str, str] = {}
        for item in error.errors():
            name = _field_name(item.get("loc", ()))
            message = scrub_text(str(item.get("msg", "is not valid")))
            errors[name] = f"{errors[name]}; {message}" if name in errors else message
        problems = "; ".join(f"{name}: {message}" for name, message in errors.items())
        if _wants_json(request):
            return problem_json(422, problems, errors=errors)
        return render(request, 400, "Bad request", problems)

    async def database_error(request: Request, error: Exception) -> Response:
        if not is_database_busy(error):
            raise error  # a real fault: the 500 page below, and the traceback in the log
        # Another writer holds the lock past the busy timeout, or the database is restarting:
        # a moment's wait helps, so say so (issue 9: this was a 500 after 30 s).
        log.warning("database busy on %s: %s", request.url.path, error)
        return render(
            request,
            503,
            "Busy, please retry",
            f"The database is busy. Please try again in {RETRY_AFTER_SECONDS} seconds.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    app.add_exception_handler(DBAPIError, database_error)
    app.add_exception_handler(PoolTimeout, database_error)

    @app.exception_handler(Exception)
    async def server_error(request: Request, error: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        response = render(request, 500, "Something went wrong", "The error was logged. Please try again later.")
        # Answered outside the middleware stack (Starlette's ServerErrorMiddleware): add them here.
        response.headers.update(dict(SECURITY_HEADERS))
        return response
