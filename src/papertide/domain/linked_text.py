"""Plain text (an abstract, a comment field of arXiv metadata) shown with its web addresses clickable.

Abstracts often name their code or data ("Code: https://github.com/..."). The text itself is
not Markdown, so nothing but the addresses changes: markdown-it-py's linkify rule (built on
linkify-it-py) finds them, every other character is escaped by the same renderer, and nh3
cleans the result against an allowlist of one tag. Only ``http``/``https`` addresses become
links (a bare ``github.com/x`` becomes ``http://github.com/x``); e-mail addresses and other
schemes stay text. Links carry ``rel="nofollow noopener"``: the text came from a third party.

Pure; the two libraries do no I/O (the exception to the domain package being standard library
only, as in domain/markdown.py).
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

LINK_REL = "nofollow noopener"


def _allowed_link(url: str) -> bool:
    return url.strip().lower().startswith(("http://", "https://"))


def _build_parser() -> MarkdownIt:
    # "zero" turns every Markdown rule off: "*a*", "# x" and "<b>" stay the text they are.
    parser = MarkdownIt("zero", {"html": False, "linkify": True, "typographer": False})
    parser.enable("linkify")
    parser.linkify.set({"fuzzy_email": False})  # type: ignore[union-attr]
    parser.validateLink = _allowed_link  # type: ignore[method-assign]
    return parser


_PARSER = _build_parser()
_CLEANER = nh3.Cleaner(
    tags={"a"},
    attributes={"a": {"href"}},
    url_schemes={"http", "https"},
    url_relative="deny",
    link_rel=LINK_REL,
    strip_comments=True,
)


def render_linked_text(text: str) -> str:
    """Escaped HTML of ``text`` in which http(s) addresses are links; nothing else is interpreted."""
    return str(_CLEANER.clean(_PARSER.renderInline(text)))
