"""The search package keeps the house limit of about 400 lines per module (STYLE.md: split by job)."""

from __future__ import annotations

from pathlib import Path

import papertide.search

LIMIT = 400


def test_no_module_of_search_grows_past_the_house_limit() -> None:
    root = Path(papertide.search.__file__).parent
    sizes = {str(path.relative_to(root)): len(path.read_text().splitlines()) for path in root.rglob("*.py")}
    assert {name: lines for name, lines in sizes.items() if lines > LIMIT} == {}
