"""What counts as text a person could have typed: Unicode scalar values, no control characters.

Every input boundary (forms, JSON bodies, query strings, the CLI) checks text with
``text_problem`` before using or storing it (issue 9): a lone surrogate such as ``"\\ud800"``
(valid in a JSON string escape, in Python ``str`` and in argv decoded with surrogateescape)
cannot be encoded as UTF-8, so once stored it breaks every page, feed and mail that shows it.
Control characters have no meaning in a one-line field and corrupt XML and mail headers.
``scrub_text`` is the other side: it makes any text safe to echo back in an error message.
"""

from __future__ import annotations

import re
import unicodedata

# Line breaks and tabs are text in multi-line fields (comments, abstracts); nothing else in Cc is.
_MULTILINE_CONTROLS = frozenset("\t\n\r")
_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` is not plain text (a surrogate, a control character or a line break), else None.

    :param multiline: allow tab, CR and LF (comments); one-line fields refuse them, because a
        line break in one can only come from a crafted request (mail header injection).
    """
    for position, char in enumerate(value, start=1):
        category = unicodedata.category(char)
        if category == "Cs":
            return f"is not valid text: character {position} is a lone surrogate (U+{ord(char):04X})"
        if category == "Cc":
            if multiline and char in _MULTILINE_CONTROLS:
                continue
            if char in "\r\n":
                return "must be a single line (line breaks are not allowed)"
            return f"contains a control character (U+{ord(char):04X}) at character {position}"
    return None


def scrub_text(value: str) -> str:
    """``value`` with every surrogate replaced by U+FFFD, so it can be encoded as UTF-8 and shown."""
    return _SURROGATE.sub("\ufffd", value)
