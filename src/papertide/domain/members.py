"""What members type about themselves: a handle (``/u/<handle>``) and a display name.

Pure checks; each raises InvalidInput naming the field and what was wrong. Handles are
lower-cased before they are checked and stored, which is what makes them unique whatever
the case ("Ada" and "ada" are one handle).
"""

from __future__ import annotations

import re
import unicodedata

from papertide.domain.errors import InvalidInput
from papertide.domain.plain_text import text_problem

HANDLE_MIN = 3
HANDLE_MAX = 30
DISPLAY_NAME_MAX = 80
_HANDLE = re.compile(r"[a-z0-9_-]+")
# Words that would be confusing or dangerous as /u/<handle> or as a name beside a comment.
RESERVED_HANDLES = frozenset(
    {
        "admin", "administrator", "api", "static", "account", "accounts", "signin", "signout", "login",
        "logout", "settings", "moderator", "moderators", "mod", "mods", "staff", "support", "help", "root",
        "system", "papertide", "papers", "paper", "authors", "author", "collections", "collection", "feeds",
        "feed", "search", "digest", "subscribe", "unsubscribe", "u", "user", "users", "me", "new", "edit",
        "delete", "null", "none", "anonymous", "deleted", "healthz", "docs", "about", "security", "abuse",
        "postmaster", "webmaster", "www", "mail", "submit", "trending", "comments",
    }
)  # fmt: skip


def parse_handle(raw: str) -> str:
    """The handle lower-cased and checked: 3-30 of ``a-z 0-9 _ -``, starting with a letter or digit, not reserved."""
    text = raw.strip().removeprefix("@").lower() if isinstance(raw, str) else ""
    if not text:
        raise InvalidInput("handle", "choose a handle")
    if not (HANDLE_MIN <= len(text) <= HANDLE_MAX):
        raise InvalidInput("handle", f"must be {HANDLE_MIN} to {HANDLE_MAX} characters long, got {len(text)}")
    if not _HANDLE.fullmatch(text):
        raise InvalidInput("handle", "may contain only the letters a-z, digits, '_' and '-'")
    if not text[0].isalnum():
        raise InvalidInput("handle", "must start with a letter or a digit")
    if text in RESERVED_HANDLES:
        raise InvalidInput("handle", f"{text!r} is reserved; choose another")
    return text


def single_line_problem(value: str) -> str | None:
    """Why a one-line text field is refused: line breaks, control or bidirectional-override characters."""
    if "\r" in value or "\n" in value:
        return "must be a single line"
    if problem := text_problem(value):
        return problem
    for ch in value:
        category = unicodedata.category(ch)
        if category == "Cc" or (category == "Cf" and ch not in "\u200c\u200d"):
            return f"contains the invisible or control character U+{ord(ch):04X}"
    return None


def parse_display_name(raw: str) -> str:
    """The display name NFC-normalised, spaces collapsed, 1-80 characters, one line, nothing invisible."""
    text = unicodedata.normalize("NFC", raw) if isinstance(raw, str) else ""
    problem = single_line_problem(text)
    if problem:
        raise InvalidInput("display_name", problem)
    text = " ".join(text.split())
    if not text:
        raise InvalidInput("display_name", "choose a display name")
    if len(text) > DISPLAY_NAME_MAX:
        raise InvalidInput("display_name", f"must be at most {DISPLAY_NAME_MAX} characters, got {len(text)}")
    return text


def suggest_handle(email: str) -> str:
    """A starting point for the handle form: the address's local part reduced to allowed characters."""
    local = email.split("@", 1)[0].lower()
    cleaned = re.sub(r"[^a-z0-9_-]+", "-", local).strip("-_")[:HANDLE_MAX]
    if len(cleaned) < HANDLE_MIN or cleaned in RESERVED_HANDLES:
        cleaned = (cleaned + "-reader")[:HANDLE_MAX].strip("-")
    return cleaned
