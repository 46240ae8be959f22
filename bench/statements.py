"""Statements a process sends and rows the server writes, for per-subscriber counts (issue 13).

``StatementCount`` counts what papertide sends while it is attached, by kind (the statement's
first word): on SQLite every statement the library runs (``sqlite3``'s trace callback: each row
of an executemany, BEGIN and COMMIT included); on PostgreSQL each statement through SQLAlchemy
(an executemany counts once per row, as the server runs it) plus BEGIN, COMMIT and ROLLBACK.
Statements sent on the driver alone (the selection items' COPY, delivery's per-message statement)
and the pool's pings are not seen there. ``server_rows`` reads PostgreSQL's own counts of rows
inserted, updated (HOT among them) and deleted per table, and of committed transactions.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from sqlalchemy import Connection, Engine, event, text


class StatementCount:
    """Statements by kind, while attached to ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.kinds: Counter[str] = Counter()
        self._sqlite = engine.dialect.name == "sqlite"

    def _kind(self, sql: str, rows: int = 1) -> None:
        words = sql.split(None, 1)
        self.kinds[words[0].upper() if words else "?"] += rows

    def _checkout(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        dbapi_connection.set_trace_callback(self._kind)

    def _execute(self, _conn: Connection, _cursor: Any, sql: str, parameters: Any, _context: Any, many: bool) -> None:
        self._kind(sql, len(parameters) if many else 1)

    def _begin(self, _conn: Connection) -> None:
        self.kinds["BEGIN"] += 1

    def _commit(self, _conn: Connection) -> None:
        self.kinds["COMMIT"] += 1

    def _rollback(self, _conn: Connection) -> None:
        self.kinds["ROLLBACK"] += 1

    def __enter__(self) -> StatementCount:
        if self._sqlite:
            event.listen(self.engine, "checkout", self._checkout)
        else:
            event.listen(self.engine, "before_cursor_execute", self._execute)
            for name, listener in (("begin", self._begin), ("commit", self._commit), ("rollback", self._rollback)):
                event.listen(self.engine, name, listener)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._sqlite:
            event.remove(self.engine, "checkout", self._checkout)
        else:
            event.remove(self.engine, "before_cursor_execute", self._execute)
            for name, listener in (("begin", self._begin), ("commit", self._commit), ("rollback", self._rollback)):
                event.remove(self.engine, name, listener)


def server_rows(engine: Engine) -> Counter[str]:
    """PostgreSQL's cumulative counts for this database: ``table.inserted|updated|hot|deleted`` and ``commits``.

    Backends report to the statistics at most once a second and when they exit: call it after
    the connections that did the work were closed (``engine.dispose()``).
    """
    time.sleep(1.5)
    counts: Counter[str] = Counter()
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        rows = conn.execute(
            text("SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del FROM pg_stat_user_tables")
        )
        for table, inserted, updated, hot, deleted in rows:
            for kind, value in (("inserted", inserted), ("updated", updated), ("hot", hot), ("deleted", deleted)):
                if value:
                    counts[f"{table}.{kind}"] = int(value)
        commits = text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        counts["commits"] = int(conn.execute(commits).scalar_one())
    return counts
