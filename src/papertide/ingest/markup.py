"""Reading XML bodies of feeds: well-formed or a clear error, never a traceback.

Servers sometimes answer 200 with an HTML error page, or cut a body short; both must be
reported with the source and the position instead of crashing a harvest (issue 3).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_defused

from papertide.domain.errors import InvalidRecord
from papertide.domain.text import collapse_whitespace

_HTML_START = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!doctype\s+html|<html)", re.IGNORECASE)
_HTML_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def parse_xml(content: bytes, location: str, expected: str) -> ElementTree.Element:
    """The root element of an XML body.

    :param location: the source and request, named in every error.
    :param expected: what the body should be ("an Atom feed"), for the error message.
    """
    if _HTML_START.match(content[:1024]):
        raise InvalidRecord(location, f"expected {expected} but the server sent an HTML page{_html_title(content)}")
    if not content.strip():
        raise InvalidRecord(location, f"expected {expected} but the body is empty")
    # Feeds never declare a DTD or entities: the hardened parser refuses both, in any encoding
    # (a byte search for "<!ENTITY" missed UTF-16 bodies, issue 9), which rules out entity expansion.
    try:
        root: ElementTree.Element = parse_defused(content, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        return root
    except DefusedXmlException as error:
        raise InvalidRecord(
            location, f"the XML declares a DTD or entities, which no feed papertide reads does ({type(error).__name__})"
        ) from None
    except ValueError as error:
        # expat refuses some declared encodings outright ("multi-byte encodings are not supported").
        raise InvalidRecord(location, f"unsupported XML encoding: {error}") from None
    except ElementTree.ParseError as error:
        line, column = error.position
        reason = str(error).split(":")[0]
        raise InvalidRecord(location, f"malformed XML at line {line}, column {column + 1}: {reason}") from None


def _html_title(content: bytes) -> str:
    match = _HTML_TITLE.search(content[:65536])
    if not match:
        return ""
    title = collapse_whitespace(match.group(1).decode("utf-8", "replace"))
    return f" ({title[:120]!r})" if title else ""


def child_text(element: ElementTree.Element, tag: str) -> str | None:
    """The text of the first child named ``tag`` (namespaced), or None when absent or blank."""
    child = element.find(tag)
    if child is None or child.text is None or not child.text.strip():
        return None
    return child.text
