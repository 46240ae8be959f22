"""Atom 1.0 and RSS 2.0 documents from plain feed data; pure, escaped by the XML writer.

Every text and attribute value loses the characters XML cannot carry on its way in, so one
paper with a control character in its title cannot make a site-wide feed ill-formed (issue 9).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from email.utils import format_datetime
from xml.etree import ElementTree

from papertide.domain.limits import strip_xml_illegal

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
RSS_TYPE = "application/rss+xml; charset=utf-8"
SUMMARY_CHARS = 600


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item: a paper, usually."""

    id: str
    title: str
    link: str
    updated: dt.datetime
    summary: str
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Feed:
    """A feed: ``link`` is the page it mirrors, ``self_link`` the feed's own address."""

    id: str
    title: str
    link: str
    self_link: str
    updated: dt.datetime
    subtitle: str = ""
    entries: list[FeedEntry] = field(default_factory=list)


def compose_summary(text: str, limit: int = SUMMARY_CHARS) -> str:
    """An abstract on one line, cut at a word boundary after at most ``limit`` characters."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0] + "…"


def _element(parent: ElementTree.Element, tag: str, attributes: dict[str, str]) -> ElementTree.Element:
    return ElementTree.SubElement(parent, tag, {name: strip_xml_illegal(value) for name, value in attributes.items()})


def _text(parent: ElementTree.Element, tag: str, value: str, **attributes: str) -> ElementTree.Element:
    element = _element(parent, tag, attributes)
    element.text = strip_xml_illegal(value)
    return element


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _serialise(root: ElementTree.Element) -> bytes:
    body: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


def compose_atom(feed: Feed) -> bytes:
    """The feed as an Atom 1.0 document."""
    root = ElementTree.Element("feed", {"xmlns": ATOM_NS})
    _text(root, "id", feed.id)
    _text(root, "title", feed.title)
    if feed.subtitle:
        _text(root, "subtitle", feed.subtitle)
    _text(root, "updated", _iso(feed.updated))
    _element(root, "link", {"rel": "alternate", "type": "text/html", "href": feed.link})
    _element(root, "link", {"rel": "self", "type": "application/atom+xml", "href": feed.self_link})
    for entry in feed.entries:
        item = ElementTree.SubElement(root, "entry")
        _text(item, "id", entry.id)
        _text(item, "title", entry.title)
        _text(item, "updated", _iso(entry.updated))
        _element(item, "link", {"rel": "alternate", "type": "text/html", "href": entry.link})
        for name in entry.authors or ("unknown",):
            _text(ElementTree.SubElement(item, "author"), "name", name)
        for category in entry.categories:
            _element(item, "category", {"term": category})
        _text(item, "summary", entry.summary, type="text")
    return _serialise(root)


def compose_rss(feed: Feed) -> bytes:
    """The feed as an RSS 2.0 document."""
    root = ElementTree.Element("rss", {"version": "2.0", "xmlns:atom": ATOM_NS})
    channel = ElementTree.SubElement(root, "channel")
    _text(channel, "title", feed.title)
    _text(channel, "link", feed.link)
    _text(channel, "description", feed.subtitle or feed.title)
    _text(channel, "lastBuildDate", format_datetime(feed.updated.astimezone(dt.UTC), usegmt=True))
    _element(channel, "atom:link", {"href": feed.self_link, "rel": "self", "type": "application/rss+xml"})
    for entry in feed.entries:
        item = ElementTree.SubElement(channel, "item")
        _text(item, "title", entry.title)
        _text(item, "link", entry.link)
        _text(item, "guid", entry.id, isPermaLink="true" if entry.id == entry.link else "false")
        _text(item, "pubDate", format_datetime(entry.updated.astimezone(dt.UTC), usegmt=True))
        _text(item, "description", entry.summary)
        for category in entry.categories:
            _text(item, "category", category)
    return _serialise(root)
