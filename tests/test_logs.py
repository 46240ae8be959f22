"""Structured logs: one JSON object per record when PAPERTIDE_LOG_JSON is set."""

from __future__ import annotations

import json
import logging

from papertide.cli.logs import JsonFormatter


def test_json_formatter_writes_one_object_with_extras() -> None:
    record = logging.makeLogRecord(
        {"name": "papertide.ingest", "levelname": "INFO", "msg": "stored %d papers", "args": (3,), "source": "oai"}
    )
    payload = json.loads(JsonFormatter().format(record))
    assert payload["message"] == "stored 3 papers"
    assert payload["logger"] == "papertide.ingest"
    assert payload["source"] == "oai"
    assert payload["time"].endswith("+00:00")
