"""arXiv identifiers in every spelling normalise to (id, version)."""

from __future__ import annotations

import pytest

from papertide.domain.errors import InvalidRecord
from papertide.domain.identifiers import parse_arxiv_id


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2501.01234", ("2501.01234", None)),
        ("2501.01234v2", ("2501.01234", 2)),
        ("0704.0001", ("0704.0001", None)),
        ("math/0601001", ("math/0601001", None)),
        ("hep-th/9504118v3", ("hep-th/9504118", 3)),
        ("math.GT/0309136", ("math.GT/0309136", None)),
        ("arXiv:2405.15738", ("2405.15738", None)),
        ("oai:arXiv.org:1412.8544", ("1412.8544", None)),
        ("http://arxiv.org/abs/1908.03333v1", ("1908.03333", 1)),
        ("https://arxiv.org/pdf/2501.01234v4.pdf", ("2501.01234", 4)),
    ],
)
def test_spellings_normalise(raw: str, expected: tuple[str, int | None]) -> None:
    assert parse_arxiv_id(raw) == expected


@pytest.mark.parametrize("raw", ["", "hello", "2501.123", "12345.67890", "math/06"])
def test_non_identifiers_are_rejected_with_the_value(raw: str) -> None:
    with pytest.raises(InvalidRecord, match="not an arXiv identifier"):
        parse_arxiv_id(raw)
