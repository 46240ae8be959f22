"""schemathesis against /api/v1/openapi.json: no 5xx, and every answer is what the document says (issue 9).

Before the fix the same run found 16 failures over 7 operations: 422 bodies whose ``detail`` was a
string where FastAPI's default schema declares an array, and undocumented 400/404 answers.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import Engine

from papertide.config import Settings
from papertide.web.app import create_app
from tests.web.search_app import search_client

# Examples per operation and generation mode: enough to reach every documented status, small
# enough that the run takes seconds (derandomized: the same cases on every machine).
EXAMPLES = 25


def _failures_of(app: FastAPI, mode: GenerationMode) -> list[str]:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case: schemathesis.Case) -> None:
            # Every check runs but "schema-valid data is accepted": JSON Schema cannot say which
            # strings are valid query syntax, calendar days or deliverable addresses, so such
            # requests get the documented 400/422 (ProblemOut), which that check counts as a failure.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        try:
            check()
        except Unsatisfiable:
            # A path-only operation has no invalid request to generate in negative mode.
            continue
        except BaseException as error:  # schemathesis raises a group; every failure is reported together
            for sub in getattr(error, "exceptions", [error]):
                first_line = str(sub).splitlines()[0] if str(sub) else ""
                failures.append(f"{operation.label} [{mode.value}]: {type(sub).__name__}: {first_line}")
    return failures


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda mode: mode.value)
def test_every_api_answer_is_documented_and_none_is_a_server_error(
    settings: Settings, sqlite_engine: Engine, mode: GenerationMode
) -> None:
    # The themed corpus with the deterministic stand-in for the embedding model: every mode runs.
    with search_client(settings, sqlite_engine) as client:
        assert _failures_of(client.app, mode) == []  # type: ignore[arg-type]


def test_the_openapi_document_declares_one_error_model_for_every_error_status(
    settings: Settings, corpus_engine: Engine
) -> None:
    document = create_app(settings, migrate=False).openapi()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status in ("400", "422", "503"):
                content = operation["responses"][status]["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/ProblemOut"}, (method, path, status)
