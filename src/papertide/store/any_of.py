"""``column IN (values)`` whose statement text does not depend on how many values there are.

An expanding ``IN`` list renders one parameter per value. On PostgreSQL that costs twice for the
few hundred ids of a delivery batch or a planning batch (issue 13): psycopg converts the
placeholders of a statement with more than 50 parameters anew on every call (it caches only
short ones), and the server plans a new text every time. ``= ANY(array)`` is one parameter: one
text, converted once and prepared by psycopg after a few runs. SQLite has no arrays and no round
trips: it keeps the expanding list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY


def any_of(conn: Connection, column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """True where ``column`` equals one of ``values``, spelt for the connection's database."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))
