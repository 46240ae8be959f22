"""Planner guidance for statements whose right plan does not depend on the tables' statistics.

A keyset page (``id > :after ... ORDER BY id LIMIT n``) and a queue claim (the oldest queued rows,
``ORDER BY id LIMIT n``) are right when they walk an index in order and stop after ``n`` rows,
however many rows match. PostgreSQL chooses a plan from its statistics, and those lag exactly
where these statements run: the delivery queue fills with a day's digests within the minute
before delivery claims them (the last ANALYZE saw the previous day's, all sent), and a list of
subscribers loaded in bulk has not been analysed yet. Told that a few dozen rows match, the
planner read every matching row through a bitmap and sorted them all, for each page: quadratic
in the queue's length (issue 13, 100,000 digests: 7.4 s of the server's time for the claims of
200 rows, 5.4 s for reading the subscribers 500 at a time; 1.5 s, mostly the claims' updates
themselves, and 0.15 s walking the index; the claims' index is schema.py's in-flight one).

Turning off sorts for the one transaction leaves the planner only the plans that read an index
in order (PostgreSQL still sorts where no index gives the order, so nothing can fail). SQLite
chooses without statistics here and walks the index already (tests/store/test_claim_order.py).
"""

from __future__ import annotations

from sqlalchemy import Connection


def keep_index_order(conn: Connection) -> None:
    """Until this transaction ends, PostgreSQL reads in order from an index rather than sort; SQLite: no-op.

    ``SET LOCAL`` ends with the transaction, so the pooled connection goes back as it came. It has no
    effect outside one: the connection must not be in autocommit (e.g. store/engine.py's
    ``single_statement_reads``), which raises here rather than silently ignoring the setting.
    """
    if conn.dialect.name != "postgresql":
        return
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        raise RuntimeError("keep_index_order needs a transaction; this connection is in autocommit")
    conn.exec_driver_sql("SET LOCAL enable_sort = off")
