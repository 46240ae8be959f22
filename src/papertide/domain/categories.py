"""arXiv category names as addresses take them (``cs.CL``, ``hep-th``, ``math.AG``)."""

from __future__ import annotations

import re

from papertide.domain.errors import InvalidInput

_CATEGORY = re.compile(r"[a-z][a-z-]{0,19}(\.[A-Za-z][A-Za-z-]{0,19})?")


def parse_category(raw: str) -> str:
    """A category name, or InvalidInput("category", ...) for anything else."""
    if not _CATEGORY.fullmatch(raw or ""):
        raise InvalidInput("category", f"{raw[:40]!r} is not an arXiv category such as cs.CL or hep-th")
    return raw
