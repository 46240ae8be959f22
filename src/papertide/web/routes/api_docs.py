"""The interactive API reference at ``/api/docs``, served entirely from this server.

FastAPI's default page loads Swagger UI from a CDN (without Subresource Integrity) and starts
it with an inline script, so it was blank offline and would be blocked by the site's
Content-Security-Policy. Here the Swagger UI 5 files come from the ``fastapi-offline``
package (MIT; Swagger UI itself is Apache-2.0), only its files, not its app factory, under
``/api/docs/assets/``, and the page is started by ``/static/api-docs.js``, which reads the
schema's address from the page. (Swagger UI 4, as other packages ship it, cannot read the
OpenAPI 3.1 schema FastAPI writes.)
``/docs``, where people look first, redirects here.
"""

from __future__ import annotations

from html import escape
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

SWAGGER_UI_DIR = Path(str(files("fastapi_offline") / "static"))
DOCS_PATH = "/api/docs"
ASSETS_PATH = "/api/docs/assets"
OPENAPI_PATH = "/api/v1/openapi.json"

router = APIRouter(include_in_schema=False)


@router.get(DOCS_PATH, response_class=HTMLResponse)
def read_api_docs(request: Request) -> HTMLResponse:
    """The Swagger UI page over this server's OpenAPI schema."""
    title = escape(f"{request.app.title} API")
    return HTMLResponse(
        f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-openapi-url="{OPENAPI_PATH}"></div>
  <script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
  <script src="/static/api-docs.js"></script>
</body>
</html>
"""
    )


@router.get("/docs")
def redirect_to_api_docs() -> RedirectResponse:
    """Where people look for API docs first."""
    return RedirectResponse(DOCS_PATH, status_code=308)
