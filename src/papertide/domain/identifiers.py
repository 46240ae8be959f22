"""arXiv identifiers: both the old style (``math/0601001``) and the new style (``2501.01234v2``)."""

from __future__ import annotations

import re

from papertide.domain.errors import InvalidRecord

_NEW_STYLE = re.compile(r"^(?P<id>\d{4}\.\d{4,5})(?:v(?P<version>\d+))?$")
_OLD_STYLE = re.compile(r"^(?P<id>[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v(?P<version>\d+))?$")
_PREFIXES = ("arxiv:", "oai:arxiv.org:")
_URL = re.compile(r"^https?://(?:export\.|www\.)?arxiv\.org/(?:abs|pdf)/(?P<rest>.+?)(?:\.pdf)?$")


def parse_arxiv_id(raw: str) -> tuple[str, int | None]:
    """Split any spelling of an arXiv id into (id without version, version or None).

    Accepts bare ids, ``arXiv:`` and OAI prefixes and abs/pdf URLs.
    """
    text = raw.strip()
    url = _URL.match(text)
    if url:
        text = url.group("rest")
    lowered = text.lower()
    for prefix in _PREFIXES:
        if lowered.startswith(prefix):
            text = text[len(prefix) :]
            break
    for pattern in (_NEW_STYLE, _OLD_STYLE):
        match = pattern.match(text)
        if match:
            version = match.group("version")
            return match.group("id"), int(version) if version else None
    raise InvalidRecord("arxiv_id", f"not an arXiv identifier: {raw!r}")


def abs_url(arxiv_id: str) -> str:
    """The canonical abstract page of a paper."""
    return f"https://arxiv.org/abs/{arxiv_id}"


def pdf_url(arxiv_id: str) -> str:
    """The canonical PDF of a paper's latest version."""
    return f"https://arxiv.org/pdf/{arxiv_id}"
