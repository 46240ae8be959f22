"""Which stored URLs may become links: http and https only, the one rule for ingest and pages.

A paper's ``abs_url``, ``pdf_url`` and ``code_url`` come from files and services papertide does
not control; rendered as ``href``, a ``javascript:`` or ``data:`` URL runs script in the reader's
browser (issue 9). Ingest drops such values with a warning (ingest/paper_fields.py) and every
template passes stored URLs through the ``http_link`` filter (web/templating.py), so a value
stored before this rule, or by a future source that forgets it, still never becomes a link.
"""

from __future__ import annotations

from urllib.parse import urlsplit

LINK_SCHEMES = frozenset({"http", "https"})
MAX_LINK_LENGTH = 2000


def link_problem(value: str) -> str | None:
    """Why ``value`` cannot be a link, or None when it is an absolute http(s) URL with a host."""
    text = value.strip()
    if not text:
        return "it is empty"
    if len(text) > MAX_LINK_LENGTH:
        return f"it is longer than {MAX_LINK_LENGTH} characters"
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 or char == "\\" for char in text):
        return "it contains spaces, control characters or backslashes"
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return "it is not a URL"
    scheme = parts.scheme.lower()
    if scheme not in LINK_SCHEMES:
        shown = f"'{scheme}:'" if scheme else "a relative address"
        return f"only http and https links are kept, not {shown}"
    if not host:
        return "it has no host"
    return None


def http_link(value: object) -> str | None:
    """``value`` (stripped) when it may be a link; None for anything else, which is then not linked."""
    if not isinstance(value, str) or link_problem(value) is not None:
        return None
    return value.strip()
