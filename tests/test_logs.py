"""Structured logs: one JSON object per record when PAPERTIDE_LOG_JSON is set."""

from __future__ import annotations

import contextlib
import io
import json
import logging

import pytest

from papertide.cli.logs import JsonFormatter, configure_logging


def test_json_formatter_writes_one_object_with_extras() -> None:
    record = logging.makeLogRecord(
        {"name": "papertide.ingest", "levelname": "INFO", "msg": "stored %d papers", "args": (3,), "source": "oai"}
    )
    payload = json.loads(JsonFormatter().format(record))
    assert payload["message"] == "stored 3 papers"
    assert payload["logger"] == "papertide.ingest"
    assert payload["source"] == "oai"
    assert payload["time"].endswith("+00:00")


def test_records_after_a_swapped_stderr_was_closed_go_to_the_stderr_of_the_moment(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Click's test runner (and any program embedding the CLI) swaps sys.stderr while a command runs, then
    # closes its stream: a handler bound to that stream made every later record, from any thread, fail.
    root = logging.getLogger()
    kept_handlers, kept_level = root.handlers[:], root.level
    try:
        swapped = io.StringIO()
        with contextlib.redirect_stderr(swapped):
            configure_logging("INFO", as_json=False)
            logging.getLogger("papertide.test").info("written while swapped")
        swapped.close()
        logging.getLogger("papertide.test").warning("written after the swap: %d", 7)
        err = capsys.readouterr().err
        assert "written after the swap: 7" in err
        assert "Logging error" not in err
        assert "written while swapped" not in err
    finally:
        root.handlers[:] = kept_handlers
        root.setLevel(kept_level)
