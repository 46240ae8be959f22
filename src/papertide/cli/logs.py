"""Logging set-up for the process: readable text on a terminal, or JSON lines for collectors."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import TextIO

_RESERVED = set(vars(logging.makeLogRecord({})))


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with any `extra=` fields kept as keys."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update({key: value for key, value in vars(record).items() if key not in _RESERVED})
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes each record to ``sys.stderr`` as it is when the record is written, not when the handler was made.

    A handler holding the stream it was given keeps writing to it after whoever swapped
    ``sys.stderr`` (Click's test runner, a program embedding the CLI, a daemon wrapper) put the
    old one back and closed theirs: every later record from any thread (the mail server's, the
    scheduler's) then fails with "I/O operation on closed file" and logging's own traceback.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        # Handler.handle holds the handler's lock around emit, so the swap cannot race a flush.
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(level: str, as_json: bool) -> None:
    """Install one stderr handler on the root logger; quiet libraries that narrate routine steps."""
    handler = StderrHandler()
    if as_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Alembic announces every migration step at INFO; the CLI reports the outcome itself.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
