"""Parsing OAI-PMH ``ListRecords`` responses of arXiv (pure: bytes in, papers out)."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

from papertide.domain.errors import InvalidRecord
from papertide.domain.identifiers import parse_arxiv_id
from papertide.domain.models import Paper
from papertide.ingest.markup import child_text, parse_xml
from papertide.ingest.paper_fields import compose_paper, parse_author_list, parse_date, parse_rfc2822_date
from papertide.ingest.source import Deletion

OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"
ARXIV_RAW = "{http://arxiv.org/OAI/arXivRaw/}"


@dataclass(frozen=True, slots=True)
class OaiPage:
    """One response: its records, the token for the next page and the server's date."""

    items: list[Paper | InvalidRecord | Deletion]
    token: str | None
    complete_size: int | None
    response_date: dt.date | None


def _arxiv_format(metadata: ElementTree.Element, location: str) -> Paper:
    """The ``arXiv`` format: structured authors, created/updated dates, no version number."""
    record = metadata.find(f"{ARXIV}arXiv")
    if record is None:
        raise InvalidRecord(location, "no <arXiv> metadata (was the prefix arXiv?)")
    arxiv_id, version = _identifier(child_text(record, f"{ARXIV}id"), location)
    authors = []
    for author in record.iterfind(f"{ARXIV}authors/{ARXIV}author"):
        parts = (child_text(author, f"{ARXIV}{tag}") for tag in ("forenames", "keyname", "suffix"))
        authors.append(" ".join(part.strip() for part in parts if part))
    published = parse_date(child_text(record, f"{ARXIV}created"), "created", location)
    return compose_paper(
        arxiv_id=arxiv_id,
        # The format carries no version; 1 never overrides a higher version stored from elsewhere.
        version=version or 1,
        title=_required(record, f"{ARXIV}title", location),
        abstract=_required(record, f"{ARXIV}abstract", location),
        authors=authors,
        categories=(child_text(record, f"{ARXIV}categories") or "").split(),
        published=published,
        updated=parse_date(child_text(record, f"{ARXIV}updated"), "updated", location) or published,
        doi=child_text(record, f"{ARXIV}doi"),
        journal_ref=child_text(record, f"{ARXIV}journal-ref"),
        comments=child_text(record, f"{ARXIV}comments"),
    )


def _arxiv_raw_format(metadata: ElementTree.Element, location: str) -> Paper:
    """The ``arXivRaw`` format: every version with its date, authors as one line."""
    record = metadata.find(f"{ARXIV_RAW}arXivRaw")
    if record is None:
        raise InvalidRecord(location, "no <arXivRaw> metadata (was the prefix arXivRaw?)")
    arxiv_id, _ = _identifier(child_text(record, f"{ARXIV_RAW}id"), location)
    versions: list[tuple[int, dt.date | None]] = []
    for element in record.iterfind(f"{ARXIV_RAW}version"):
        label = (element.get("version") or "").lstrip("v")
        if label.isdigit():
            versions.append((int(label), parse_rfc2822_date(child_text(element, f"{ARXIV_RAW}date"))))
    versions.sort()
    return compose_paper(
        arxiv_id=arxiv_id,
        version=versions[-1][0] if versions else 1,
        title=_required(record, f"{ARXIV_RAW}title", location),
        abstract=_required(record, f"{ARXIV_RAW}abstract", location),
        authors=parse_author_list(child_text(record, f"{ARXIV_RAW}authors")),
        categories=(child_text(record, f"{ARXIV_RAW}categories") or "").split(),
        published=versions[0][1] if versions else None,
        updated=versions[-1][1] if versions else None,
        doi=child_text(record, f"{ARXIV_RAW}doi"),
        journal_ref=child_text(record, f"{ARXIV_RAW}journal-ref"),
        comments=child_text(record, f"{ARXIV_RAW}comments"),
    )


def _identifier(raw: str | None, location: str) -> tuple[str, int | None]:
    if raw is None:
        raise InvalidRecord(location, "field 'id' is missing")
    try:
        return parse_arxiv_id(raw)
    except InvalidRecord as error:
        raise InvalidRecord(location, f"field 'id': {error.reason}") from None


def _required(record: ElementTree.Element, tag: str, location: str) -> str:
    text = child_text(record, tag)
    if text is None:
        raise InvalidRecord(location, f"field '{tag.split('}')[-1]}' is missing or empty")
    return text


def parse_record(record: ElementTree.Element, location: str, prefix: str) -> Paper | Deletion:
    """One ``<record>``: a paper, or a deletion when the header says so."""
    header = record.find(f"{OAI}header")
    if header is None:
        raise InvalidRecord(location, "record has no <header>")
    identifier = child_text(header, f"{OAI}identifier") or ""
    location = f"{location} ({identifier.strip() or 'no identifier'})"
    if header.get("status") == "deleted":
        return Deletion(_identifier(identifier, location)[0])
    metadata = record.find(f"{OAI}metadata")
    if metadata is None:
        raise InvalidRecord(location, "record has no <metadata>")
    parse = _arxiv_raw_format if prefix == "arXivRaw" else _arxiv_format
    return parse(metadata, location)


def parse_list_records(content: bytes, location: str, prefix: str) -> OaiPage:
    """A ``ListRecords`` response; protocol errors other than "no records" raise InvalidRecord."""
    root = parse_xml(content, location, "an OAI-PMH response")
    if root.tag != f"{OAI}OAI-PMH":
        raise InvalidRecord(location, f"expected an <OAI-PMH> document, got <{root.tag.split('}')[-1]}>")
    stamp = child_text(root, f"{OAI}responseDate")
    response_date = parse_date(stamp.strip(), "responseDate", location) if stamp else None
    error = root.find(f"{OAI}error")
    if error is not None:
        code = error.get("code", "unknown")
        if code == "noRecordsMatch":
            return OaiPage(items=[], token=None, complete_size=0, response_date=response_date)
        message = " ".join((error.text or "").split())
        raise InvalidRecord(location, f"OAI-PMH error {code}: {message or 'no message'}")
    listing = root.find(f"{OAI}ListRecords")
    if listing is None:
        raise InvalidRecord(location, "the response has neither <ListRecords> nor <error>")
    items: list[Paper | InvalidRecord | Deletion] = []
    for number, record in enumerate(listing.iterfind(f"{OAI}record"), start=1):
        try:
            items.append(parse_record(record, f"{location} record {number}", prefix))
        except InvalidRecord as problem:
            items.append(problem)
    token_element = listing.find(f"{OAI}resumptionToken")
    token = (token_element.text or "").strip() if token_element is not None else ""
    size = token_element.get("completeListSize") if token_element is not None else None
    return OaiPage(
        items=items,
        token=token or None,
        complete_size=int(size) if size and size.isdigit() else None,
        response_date=response_date,
    )
