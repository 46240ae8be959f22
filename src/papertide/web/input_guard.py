"""Refusing request text that is not text, before any route sees it (issue 9).

Starlette decodes percent-escapes that are not UTF-8 to U+FFFD and passes control characters
such as ``%00`` through; a NUL then reaches PostgreSQL (which refuses it with an error) or a
feed (where it makes the XML ill-formed). This dependency, installed on every route, answers
400 naming the parameter instead. Forms and JSON bodies are checked field by field by the
parsers that read them (domain/plain_text.py).
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from fastapi import HTTPException, Request

from papertide.domain.plain_text import text_problem


def _raw_parameters(query_string: bytes) -> list[tuple[str, bytes]]:
    parameters = []
    for part in query_string.split(b"&"):
        if not part:
            continue
        name, _, value = part.partition(b"=")
        decoded_name = unquote_to_bytes(name.replace(b"+", b" ")).decode("utf-8", "replace")
        parameters.append((decoded_name, unquote_to_bytes(value.replace(b"+", b" "))))
    return parameters


def check_request_text(request: Request) -> None:
    """Raise 400 when a query parameter or a path segment is not valid UTF-8 text without control characters."""
    for name, raw in _raw_parameters(request.scope.get("query_string", b"")):
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise HTTPException(400, f"query parameter {name!r} is not valid UTF-8 text") from None
        # Tabs and line breaks can come from a pasted query; each parser decides whether it takes them.
        if problem := text_problem(value, multiline=True):
            raise HTTPException(400, f"query parameter {name!r} {problem}")
    for name, value in request.path_params.items():
        if isinstance(value, str) and (problem := text_problem(value)):
            raise HTTPException(400, f"the address ({name}) {problem}")
