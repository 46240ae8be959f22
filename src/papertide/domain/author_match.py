"""Which of a paper's authors an ``author:`` filter matched, so a cut author list can still show them.

The lexical index matches ``author:"Ada Lovelace"`` as a phrase within one author's name, after
splitting on anything not a letter or digit and folding case and accents (search/lexical); the
same rule is applied here to the names of one paper, which is cheap and needs no index.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from papertide.domain.authors import fold_name

_TOKEN = re.compile(r"[^\W_]+")


def _tokens(name: str) -> list[str]:
    return _TOKEN.findall(fold_name(name))


def _contains(tokens: list[str], wanted: list[str]) -> bool:
    width = len(wanted)
    return any(tokens[start : start + width] == wanted for start in range(len(tokens) - width + 1))


def match_authors(authors: Sequence[str], filters: Sequence[str]) -> tuple[int, ...]:
    """Positions of the authors named by any of the ``author:`` filter values, in list order."""
    wanted = [tokens for tokens in (_tokens(value) for value in filters) if tokens]
    if not wanted:
        return ()
    return tuple(
        position
        for position, name in enumerate(authors)
        if any(_contains(tokens, value) for tokens in [_tokens(name)] for value in wanted)
    )
