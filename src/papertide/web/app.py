"""The web application's composition root: ``create_app(settings)``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from papertide import __version__
from papertide.config import Settings
from papertide.store.engine import make_engine
from papertide.store.migrate import upgrade_database
from papertide.web.routes import health, pages, search
from papertide.web.templating import make_templates

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"


def create_app(settings: Settings, *, migrate: bool = True) -> FastAPI:
    """Build the app; nothing connects until start-up (or the first request in tests).

    :param migrate: bring the schema up to date at start-up (Alembic), as `papertide serve` does.
    """
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            upgrade_database(engine)
        yield
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
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (health, pages, search):
        app.include_router(module.router)
    _install_error_pages(app)
    return app


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
            return JSONResponse({"detail": problems, "errors": error.errors()}, status_code=422)
        return render(request, 400, "Bad request", problems)

    @app.exception_handler(Exception)
    async def server_error(request: Request, error: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return render(request, 500, "Something went wrong", "The error was logged. Please try again later.")
