"""The Markdown members write in comments and notes, rendered to HTML that is safe to show.

Two maintained libraries do the work, never hand-written escaping: markdown-it-py parses a
small subset (emphasis, strikethrough, inline code and code blocks, links, lists, quotes,
rules) with raw HTML and images switched off, and nh3 (ammonia) cleans the result against an
allowlist, so a parser surprise still cannot reach the page. Links are ``http``/``https`` only
and carry ``rel="nofollow ugc"``. Maths between dollars (``$x^2$``, ``$$E=mc^2$$``) is shown
as its TeX source in ``<code class="math">``. Headings are not part of the subset: a line
starting with ``#`` stays text, so a comment cannot shout over the page.

Pure functions on text; the two libraries do no I/O (the one deliberate exception to the
domain package being standard library only, decided in issue 11).
"""

from __future__ import annotations

import re
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

ALLOWED_SCHEMES = ("http://", "https://")
LINK_REL = "nofollow ugc"
ALLOWED_TAGS = frozenset({"p", "br", "em", "strong", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr"})
_BARE_URL = re.compile(r"https?://[^\s<>\"')\]]+", re.IGNORECASE)


def _find_unescaped(src: str, marker: str, start: int, stop: int) -> int:
    position = src.find(marker, start, stop)
    while position != -1 and src[position - 1] == "\\":
        position = src.find(marker, position + 1, stop)
    return position


def _math_rule(state: StateInline, silent: bool) -> bool:
    """``$...$`` or ``$$...$$``, with pandoc's rule against dollar amounts ("$5 and $10").

    The opening dollar must be followed by a non-space; the first unescaped closing marker
    ends the maths, and it must be preceded by a non-space and not followed by a digit,
    else the dollars are plain text.
    """
    src, start = state.src, state.pos
    if src[start] != "$" or (start > 0 and src[start - 1] == "\\"):
        return False
    marker = "$$" if src.startswith("$$", start) else "$"
    content_start = start + len(marker)
    if content_start >= state.posMax or src[content_start].isspace():
        return False
    end = _find_unescaped(src, marker, content_start, state.posMax)
    if end <= content_start or src[end - 1].isspace():
        return False
    after = end + len(marker)
    if after < state.posMax and src[after].isdigit():
        return False
    if not silent:
        token = state.push("math_inline", "code", 0)
        token.content = src[content_start:end]
        token.markup = marker
    state.pos = after
    return True


def _render_math(renderer: RendererHTML, tokens: list[Token], index: int, options: OptionsDict, env: EnvType) -> str:
    return f'<code class="math">{escapeHtml(tokens[index].content)}</code>'


def _allowed_link(url: str) -> bool:
    return url.strip().lower().startswith(ALLOWED_SCHEMES)


def _build_parser() -> MarkdownIt:
    parser = MarkdownIt("zero", {"html": False, "breaks": True, "linkify": False, "typographer": False})
    parser.enable(["code", "fence", "blockquote", "hr", "list", "reference", "paragraph"])
    parser.enable(["newline", "escape", "backticks", "emphasis", "strikethrough", "link", "autolink", "entity"])
    parser.inline.ruler.before("escape", "math_inline", _math_rule)
    parser.add_render_rule("math_inline", _render_math)
    # Everything but http(s) is refused by the parser already (javascript:, data:, mailto:,
    # relative links); the sanitizer below checks again.
    parser.validateLink = _allowed_link  # type: ignore[method-assign]
    return parser


_PARSER = _build_parser()
_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style"},
    attributes={"a": {"href"}, "ol": {"start"}},
    allowed_classes={"code": {"math"}},
    url_schemes={"http", "https"},
    url_relative="deny",
    link_rel=LINK_REL,
    strip_comments=True,
)


def render_markdown(body: str) -> str:
    """Safe HTML for a member's Markdown: the subset rendered, then cleaned against the allowlist."""
    return str(_CLEANER.clean(_PARSER.render(body)))


def count_links(body: str) -> int:
    """Links in a body as the new-member limit counts them: rendered links plus bare http(s) URLs.

    Bare URLs are not made clickable, but a spammer pasting them is still posting links, so
    they count. Text inside code, and a link's own text, are not counted again.
    """
    count = 0
    for block in _PARSER.parse(body):
        depth = 0
        for token in block.children or ():
            if token.type == "link_open":
                depth += 1
                count += 1 if _allowed_link(str(token.attrGet("href") or "")) else 0
            elif token.type == "link_close":
                depth -= 1
            elif token.type == "text" and depth == 0:
                count += len(_BARE_URL.findall(token.content))
    return count


def describe_subset() -> dict[str, Any]:
    """What the subset allows, for help text beside the comment form and the API docs."""
    return {
        "formatting": ["*emphasis*", "**strong**", "~~strikethrough~~", "`code`", "```code blocks```"],
        "structure": ["- lists", "1. numbered lists", "> quotes", "---"],
        "links": "[text](https://…) or <https://…>; http and https only, marked nofollow",
        "maths": "$…$ and $$…$$ are shown as TeX source",
        "not allowed": ["raw HTML", "images", "headings"],
    }
