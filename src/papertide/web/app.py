"""The web application: ``create_app(settings)`` wires the routes to one ``Services`` object."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from papertide import __version__
from papertide.config import Settings
from papertide.domain.clock import Clock, utc_now
from papertide.services import Services
from papertide.store.migrate import upgrade_database
from papertide.web.problems import install_problem_handlers
from papertide.web.routes import ROUTERS
from papertide.web.security import install_security
from papertide.web.templating import make_templates, site_from_settings

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"


def create_app(
    settings: Settings,
    *,
    services: Services | None = None,
    migrate: bool = True,
    run_jobs: bool = False,
) -> FastAPI:
    """Build the app; nothing connects until start-up (or the first request in tests).

    :param services: what the routes and jobs use (services.py); `papertide serve` passes the
        ones it built, otherwise they are built here from ``settings``, on the app's clock
        (``app.state.clock`` when a test sets one).
    :param migrate: bring the schema up to date at start-up (Alembic), as `papertide serve` does.
    :param run_jobs: run the scheduled jobs (jobs.py) while the app is up; only `papertide serve`
        asks for it, so tests never start background jobs.
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
        yield
        if scheduler is not None:
            scheduler.stop()
        built.close()

    app = FastAPI(
        title=settings.site_name,
        version=__version__,
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
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
    for router in ROUTERS:  # in this order: see web/routes/__init__.py
        app.include_router(router)
    _install_error_pages(app)
    install_problem_handlers(app)
    install_security(app, settings)
    return app


def _app_now(app: FastAPI) -> dt.datetime:
    clock: Clock = getattr(app.state, "clock", None) or utc_now
    return clock()


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
