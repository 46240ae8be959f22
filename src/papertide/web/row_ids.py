"""Row ids in addresses and forms, bounded to what the database can hold.

Ids are 32-bit INTEGER columns on PostgreSQL (domain/limits.py): SQLite raises OverflowError and
PostgreSQL a DataError for a larger one, which would be a 500. Every route taking an id uses
these aliases, so an id out of range is a 422 naming the field, before any query runs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Path

from papertide.domain.limits import MAX_ROW_ID

RowIdPath = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="A row id (1 to 2^31-1).")]
RowIdForm = Annotated[int, Form(ge=1, le=MAX_ROW_ID)]
OptionalRowIdForm = Annotated[int | None, Form(ge=1, le=MAX_ROW_ID)]
