"""Liveness and readiness for load balancers and `papertide doctor`."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from papertide import __version__
from papertide.store.migrate import is_up_to_date
from papertide.web.deps import EngineDep

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
def read_health(engine: EngineDep) -> JSONResponse:
    """200 when the database answers and its schema is current, 503 otherwise."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        schema_ok = is_up_to_date(engine)
    except Exception as error:
        return JSONResponse({"status": "error", "database": str(error)}, status_code=503)
    status = 200 if schema_ok else 503
    return JSONResponse(
        {"status": "ok" if schema_ok else "migrations pending", "version": __version__}, status_code=status
    )
