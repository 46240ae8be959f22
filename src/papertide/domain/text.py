"""Text normalisation shared by every ingestion source, and the word splitter of search snippets.

The search index does not use :func:`tokenize`: it analyses text with its own tantivy analyzers
(search/analyzer.py), one configuration recorded with the index and used both to index and to
parse queries.
"""

from __future__ import annotations

import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")
_CODE_URL = re.compile(
    r"https?://(?:www\.)?(?:github\.com|gitlab\.com|bitbucket\.org|huggingface\.co|codeberg\.org)"
    r"/[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+",
)
_WORD = re.compile(r"\w+", re.UNICODE)


def collapse_whitespace(text: str) -> str:
    """Join arXiv's hard line wraps and runs of spaces into single spaces."""
    return _WHITESPACE.sub(" ", text).strip()


def normalize_text(text: str) -> str:
    """NFC-normalise and collapse whitespace, the form in which titles and abstracts are stored."""
    return collapse_whitespace(unicodedata.normalize("NFC", text))


def find_code_url(*texts: str | None) -> str | None:
    """The first code-repository URL mentioned in any of the texts (comments, abstract)."""
    for text in texts:
        if not text:
            continue
        match = _CODE_URL.search(text)
        if match:
            return match.group(0).rstrip(".,;)")
    return None


def tokenize(text: str) -> list[str]:
    """Lower-cased, accent-folded word tokens; how snippets (domain/snippet.py) find query words in a text."""
    folded = unicodedata.normalize("NFKD", text.lower())
    stripped = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return _WORD.findall(stripped)
