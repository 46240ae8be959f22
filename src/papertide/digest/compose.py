"""Composing digest and confirmation mails from plain arguments; nothing here sends or stores.

Templates live in digest/templates (an operator's ``templates_dir`` comes first) and are
autoescaped for HTML. A run composes tens of thousands of digests, so the templates are
compiled once per :class:`MailComposer`, each paper's card is rendered once and reused for
every subscriber who gets it, and the MIME bytes are written by mail/mime.py rather than
the ``email`` generator. ``compose_digest_message`` gives the same bytes as an EmailMessage.
"""

from __future__ import annotations

import datetime as dt
import email
import functools
import hmac
import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from papertide.digest.layout import Encoded, EncodedLayout, LineMemos, compile_layout, encode_lines
from papertide.digest.skeleton import Skeleton, is_slot_marker, parse_skeleton, slot_marker
from papertide.digest.tokens import sign_token
from papertide.domain.latex import render_tex
from papertide.domain.limits import clean_output
from papertide.mail.mime import (
    alternative_frame,
    block_marker,
    check_header_value,
    compose_alternative,
    encode_address,
    encode_header,
    encode_quoted_printable,
    encode_with_blocks,
)
from papertide.mail.transport import RawMessage, dot_stuffed

MAX_AUTHORS_SHOWN = 5
log = logging.getLogger(__name__)


@lru_cache(maxsize=16)
def _bare_address(mailbox: str) -> str:
    return parseaddr(mailbox)[1]


@lru_cache(maxsize=16)
def _secret_bytes(secret: str) -> bytes:
    return secret.encode()


@lru_cache(maxsize=256)
def _message_id_period(period_key: str) -> str:
    """The period key as a Message-ID shows it: every character but letters and digits made "-".

    Memoised: planning asks for the Message-ID of every subscriber, and a run has a handful of
    periods (issue 13: cleaning the key character by character was half of a Message-ID's cost).
    """
    return "".join(ch if ch.isalnum() else "-" for ch in period_key)


@dataclass(frozen=True, slots=True)
class MailSite:
    """Everything about the sending site that every mail shows (from the settings)."""

    name: str
    base_url: str
    mail_from: str
    secret: str
    postal_address: str = ""
    unsubscribe_address: str = ""
    templates_dir: Path | None = None

    @property
    def root(self) -> str:
        """The base URL without a trailing slash."""
        return self.base_url.rstrip("/")

    @property
    def sender_address(self) -> str:
        """The bare address of ``mail_from``."""
        return _bare_address(self.mail_from)

    @property
    def domain(self) -> str:
        """Right-hand side for Message-IDs: the sender's domain."""
        return self.sender_address.rpartition("@")[2] or "localhost"

    def make_message_id(self, period_key: str, subscriber_id: int) -> str:
        """The Message-ID of one (subscriber, period) digest: the same on every attempt and every run.

        Stored with the delivery row at planning, and derived rather than random, so that a digest
        sent twice (a worker killed between the server's acceptance and its record, see
        digest/deliver.py) reaches the reader as the same message, which mail clients collapse.
        The keyed hash keeps the ids of other subscribers unguessable.
        """
        mark = hmac.digest(_secret_bytes(self.secret), f"message-id\0{period_key}\0{subscriber_id}".encode(), "sha256")
        return f"<digest.{_message_id_period(period_key)}.{subscriber_id}.{mark.hex()[:12]}@{self.domain}>"


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One paper as the digest shows it, with why it was chosen for this subscriber."""

    paper_id: int
    arxiv_id: str
    title: str
    authors: tuple[str, ...]
    abstract: str
    upvotes: int
    reason: str


@lru_cache(maxsize=8192)
def _encode_short(text: str) -> bytes:
    return encode_quoted_printable(text)


def _encode_piece(text: str) -> bytes:
    """Quoted-printable, memoised for the short pieces between cards, which repeat across messages."""
    return _encode_short(text) if len(text) < 2000 else encode_quoted_printable(text)


@dataclass(frozen=True, slots=True)
class _Card:
    """One paper's card, rendered and quoted-printable-encoded once per run."""

    html: Markup
    text: str
    html_qp: Encoded
    text_qp: Encoded
    # The digest's preheader when this paper comes first (its title, TeX rendered).
    preheader: str


def format_authors(authors: Sequence[str]) -> str:
    """The first few authors, then how many more."""
    if len(authors) <= MAX_AUTHORS_SHOWN:
        return ", ".join(authors)
    return ", ".join(authors[:MAX_AUTHORS_SHOWN]) + f" and {len(authors) - MAX_AUTHORS_SHOWN} more"


def compose_excerpt(abstract: str, limit: int = 280) -> str:
    """The start of an abstract, cut at a word boundary with an ellipsis."""
    text = " ".join(abstract.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.")
    return cut + "…"


_BLOCK_MARKER = re.compile("\0[0-9]+\0")
# The values that differ between two digests of the same shape, in slot order (digest/skeleton.py):
# first the subscriber's own (address and signed links, never shared by two messages), then the
# preheader; each paper's "why" line follows them.
_SUBSCRIBER_VALUES = ("email", "preferences_url", "unsubscribe_url")
_PER_MESSAGE = (*_SUBSCRIBER_VALUES, "preheader")
# The slots (indices in _PER_MESSAGE) whose values belong to one subscriber, never to a whole digest.
_PER_SUBSCRIBER = tuple(range(len(_SUBSCRIBER_VALUES)))


def _clean_mail_output(value: object) -> object:
    """``clean_output``, except for the NUL-delimited markers of pre-encoded blocks and of skeleton slots."""
    if isinstance(value, str) and (_BLOCK_MARKER.fullmatch(value) or is_slot_marker(value)):
        return value
    return clean_output(value)


def _escape_value(value: object, html: bool) -> str:
    """A value as ``{{ value }}`` prints it: finalized, then escaped in HTML."""
    cleaned = _clean_mail_output(value)
    return str(escape(cleaned)) if html else str(cleaned)


def make_mail_environment(templates_dir: Path | None) -> Environment:
    """Loader chain like the web's: the operator's directory first, then the bundled templates."""
    package = PackageLoader("papertide.digest", "templates")
    loaders: list[Any] = [FileSystemLoader(str(templates_dir))] if templates_dir is not None else []
    loaders.append(package)
    return Environment(
        loader=ChoiceLoader(loaders),
        # HTML is escaped; the text parts are plain text, where HTML escaping would be wrong.
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False, default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
        # No control character of a stored title reaches a mail (issue 9); block markers stay.
        finalize=_clean_mail_output,
    )


def _period_heading(frequency: str, period_label: str) -> str:
    return f"Trending papers, week of {period_label}" if frequency == "weekly" else f"Trending papers, {period_label}"


class MailComposer:
    """Compiled templates and per-run caches for one site; reuse it across a whole run."""

    def __init__(self, site: MailSite) -> None:
        self.site = site
        environment = make_mail_environment(site.templates_dir)
        self._templates = {
            name: environment.get_template(name)
            for name in (
                "digest.html.j2",
                "digest.txt.j2",
                "_item.html.j2",
                "_item.txt.j2",
                "confirm.html.j2",
                "confirm.txt.j2",
            )
        }
        self._from = encode_header("From", encode_address(site.name, site.mail_from))
        host = urlsplit(site.root).hostname or "localhost"
        phrase = "".join(ch for ch in site.name if ch.isascii() and (ch.isalnum() or ch in " ._-")).strip()
        self._list_id = encode_header("List-Id", f"{phrase or 'papertide'} digest <digest.{host}>")
        self._sender = site.sender_address
        self._mailto = site.unsubscribe_address or self._sender
        self._fragments: dict[tuple[int, int], _Card] = {}
        self._subjects: dict[tuple[str, str], str] = {}
        # Per part and shape: its skeleton, or None when the template cannot be filled in (skeleton.py).
        self._skeletons: dict[tuple[str, str, str, int, bool], Skeleton | None] = {}
        # Per part and shape with a sound skeleton: its encoded layout, or None (digest/layout.py).
        self._layouts: dict[tuple[str, str, str, int, bool], EncodedLayout | None] = {}
        self._lines: LineMemos = {}
        self._reasons: dict[tuple[str, bool], str] = {}
        self._date_second: int | None = None
        self._date_text = ""

    def manage_token(self, subscriber_id: int, email: str, now: dt.datetime) -> str:
        """A fresh token for the subscriber's preferences page."""
        return sign_token(self.site.secret, "manage", subscriber_id, email, now)

    def paper_url(self, arxiv_id: str) -> str:
        """The paper's page on this site."""
        return f"{self.site.root}/papers/{quote(arxiv_id, safe='/')}"

    def _fragment(self, entry: DigestEntry) -> _Card:
        key = (entry.paper_id, entry.upvotes)
        cached = self._fragments.get(key)
        if cached is None:
            # arXiv metadata is TeX: "$O(n^2)$", "Bal\\'azs" read as "O(n²)", "Balázs" (domain/latex.py).
            title = render_tex(entry.title)
            context = {
                "title": title,
                "authors": format_authors([render_tex(author) for author in entry.authors]),
                "excerpt": compose_excerpt(render_tex(entry.abstract)),
                "upvotes": entry.upvotes,
                "url": self.paper_url(entry.arxiv_id),
            }
            html = self._templates["_item.html.j2"].render(context).strip().replace("\0", "")
            text = self._templates["_item.txt.j2"].render(context).strip().replace("\0", "")
            cached = self._fragments[key] = _Card(
                Markup(html),
                text,
                encode_lines(html + "\n"),
                encode_lines(text + "\n"),
                title.replace("\0", ""),
            )
        return cached

    def _render_template(self, name: str, context: dict[str, Any], reasons: Sequence[str]) -> str:
        """The part's template rendered with a block marker in place of each card."""
        html = name.endswith(".html.j2")
        markers = [Markup(block_marker(i)) if html else block_marker(i) for i in range(len(reasons))]
        return self._templates[name].render(
            context, entries=[{"fragment": m, "reason": r} for m, r in zip(markers, reasons, strict=True)]
        )

    def _escaped(self, reason: str, html: bool) -> str:
        """A "why" line as the part prints it, escaped once per run: a run has a few thousand distinct ones."""
        key = (reason, html)
        escaped = self._reasons.get(key)
        if escaped is None:
            escaped = self._reasons[key] = _escape_value(reason, html)
        return escaped

    @staticmethod
    def _shape(name: str, context: dict[str, Any], entries: Sequence[DigestEntry]) -> tuple[str, str, str, int, bool]:
        """What two messages must share for one skeleton to serve both."""
        heading, frequency = str(context["heading"]), str(context["frequency_label"])
        return (name, heading, frequency, len(entries), bool(context["preheader"]))

    def _values(
        self,
        context: dict[str, Any],
        entries: Sequence[DigestEntry],
        html: bool,
        subscriber_values: Sequence[str] | None = None,
    ) -> list[str]:
        """The escaped values of a message's slots, in slot order (the subscriber's own ones given, or escaped here)."""
        if subscriber_values is None:
            values = [_escape_value(context[k], html) for k in _PER_MESSAGE]
        else:
            values = [
                *subscriber_values,
                *[_escape_value(context[k], html) for k in _PER_MESSAGE[len(_SUBSCRIBER_VALUES) :]],
            ]
        return values + [self._escaped(entry.reason, html) for entry in entries]

    def _encode_part(
        self,
        name: str,
        context: dict[str, Any],
        cards: list[_Card],
        entries: Sequence[DigestEntry],
        subscriber_values: Sequence[str],
    ) -> tuple[list[bytes], list[bytes] | None]:
        """One part's quoted-printable pieces and their SMTP forms (None: the same bytes), from the shape's layout.

        :param subscriber_values: the escaped values of the slots in ``_PER_SUBSCRIBER``, in that order.
        """
        html = name.endswith(".html.j2")
        key = self._shape(name, context, entries)
        skeleton = self._skeletons.get(key)
        if skeleton is not None:
            if key not in self._layouts:
                self._layouts[key] = compile_layout(skeleton, _PER_SUBSCRIBER, self._lines)
            layout = self._layouts[key]
            if layout is not None:
                encoded = [card.html_qp if html else card.text_qp for card in cards]
                # Escaping is a function of the raw text, so raw reasons tell digests apart as well.
                digest = (context["preheader"], *[entry.reason for entry in entries], *encoded)
                values = functools.partial(self._values, context, entries, html, subscriber_values)
                return layout.encode(digest, subscriber_values, values, encoded)
        # The first message of its shape (which checks the skeleton), or a template the layout cannot cut.
        data = self._render(name, context, cards, entries)
        smtp = dot_stuffed(data)
        return [data], ([smtp] if smtp != data else None)

    def _render_filled(self, name: str, context: dict[str, Any], entries: Sequence[DigestEntry]) -> str:
        """The part's template rendered for this message, from its shape's skeleton when it has a sound one."""
        html = name.endswith(".html.j2")
        key = self._shape(name, context, entries)
        reasons = [entry.reason for entry in entries]
        values = self._values(context, entries, html)
        if key in self._skeletons:
            skeleton = self._skeletons[key]
            if skeleton is not None:
                return skeleton.fill(values)
            return self._render_template(name, context, reasons)
        markers = {k: slot_marker(i) for i, k in enumerate(_PER_MESSAGE) if context[k]}
        slots = [slot_marker(len(_PER_MESSAGE) + i) for i in range(len(entries))]
        candidate = parse_skeleton(self._render_template(name, {**context, **markers}, slots))
        rendered = self._render_template(name, context, reasons)
        sound = all(slot < len(values) for slot in candidate.slots) and candidate.fill(values) == rendered
        if not sound:
            log.info("template %s transforms or tests a per-subscriber value: rendered whole for each message", name)
        self._skeletons[key] = candidate if sound else None
        return rendered

    def _render(self, name: str, context: dict[str, Any], cards: list[_Card], entries: Sequence[DigestEntry]) -> bytes:
        """One part, quoted-printable, with the cards' pre-encoded bytes spliced in."""
        html = name.endswith(".html.j2")
        rendered = self._render_filled(name, context, entries)
        spliced = encode_with_blocks(
            rendered, [(card.html_qp if html else card.text_qp).data for card in cards], _encode_piece
        )
        if spliced is not None:
            return spliced
        for index, card in enumerate(cards):
            rendered = rendered.replace(block_marker(index), card.html if html else card.text)
        return encode_quoted_printable(rendered)

    def _subject(self, frequency: str, period_label: str) -> str:
        key = (frequency, period_label)
        subject = self._subjects.get(key)
        if subject is None:
            subject = encode_header("Subject", f"{_period_heading(frequency, period_label)} · {self.site.name}")
            self._subjects[key] = subject
        return subject

    def compose_digest(
        self,
        *,
        subscriber_id: int,
        email: str,
        frequency: str,
        period_label: str,
        message_id: str,
        entries: Sequence[DigestEntry],
        now: dt.datetime,
    ) -> RawMessage:
        """One subscriber's digest, ready to send."""
        check_header_value("To", email)
        check_header_value("Message-ID", message_id)
        unsubscribe = sign_token(self.site.secret, "unsubscribe", subscriber_id, email, now)
        manage = self.manage_token(subscriber_id, email, now)
        unsubscribe_url = f"{self.site.root}/unsubscribe/{unsubscribe}"
        mailto = self._mailto
        check_header_value("List-Unsubscribe", unsubscribe_url + mailto)
        cards = [self._fragment(entry) for entry in entries]
        context = {
            "site_name": self.site.name,
            "base_url": self.site.root,
            "postal_address": self.site.postal_address,
            "email": email,
            "heading": _period_heading(frequency, period_label),
            "title": f"{self.site.name}: {_period_heading(frequency, period_label)}",
            "preheader": cards[0].preheader if cards else "",
            "frequency_label": "weekly" if frequency == "weekly" else "daily",
            "preferences_url": f"{self.site.root}/digest/preferences/{manage}",
            "unsubscribe_url": unsubscribe_url,
        }
        # The subscriber's own values, cleaned once for both parts (as the templates' finalize does).
        cleaned = [_clean_mail_output(context[key]) for key in _SUBSCRIBER_VALUES]
        text_data, text_smtp = self._encode_part("digest.txt.j2", context, cards, entries, [str(c) for c in cleaned])
        html_values = [str(escape(c)) for c in cleaned]
        html_data, html_smtp = self._encode_part("digest.html.j2", context, cards, entries, html_values)
        headers = (
            self._from,
            f"To: {email}",
            self._subject(frequency, period_label),
            f"Date: {self._date(now)}",
            f"Message-ID: {message_id}",
            self._list_id,
            f"List-Unsubscribe: <{unsubscribe_url}>,\r\n <mailto:{mailto}?subject=unsubscribe>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        )
        head, between, closing = alternative_frame(headers)
        data = b"".join((head, *text_data, between, *html_data, closing))
        # Header lines never start with "." (a folded line starts with a space); checked all the same.
        head_stuffed = head.startswith(b".") or b"\n." in head
        if not head_stuffed and text_smtp is None and html_smtp is None:
            smtp = data  # no line starts with "." (nearly every digest): the SMTP form is the same bytes
        else:
            smtp = b"".join(
                (
                    dot_stuffed(head) if head_stuffed else head,
                    *(text_smtp or text_data),
                    between,
                    *(html_smtp or html_data),
                    closing,
                )
            )
        return RawMessage(sender=self._sender, recipients=(email,), message_id=message_id, data=data, smtp_data=smtp)

    def _date(self, now: dt.datetime) -> str:
        """The Date header's value, formatted once per second (a run sends many messages per second)."""
        second = int(now.timestamp())
        if second != self._date_second:
            self._date_second = second
            self._date_text = format_datetime(now.astimezone(dt.UTC))
        return self._date_text

    def compose_confirmation(
        self, *, subscriber_id: int, email: str, already_subscribed: bool, valid_days: int, now: dt.datetime
    ) -> RawMessage:
        """The double opt-in mail, or for a confirmed address a link to its preferences.

        Both look alike from outside, so asking to subscribe never tells a stranger whether an
        address is on the list.
        """
        check_header_value("To", email)
        if already_subscribed:
            token = self.manage_token(subscriber_id, email, now)
            link = f"{self.site.root}/digest/preferences/{token}"
            subject = f"Your {self.site.name} digest subscription"
        else:
            token = sign_token(self.site.secret, "confirm", subscriber_id, email, now)
            link = f"{self.site.root}/subscribe/confirm/{token}"
            subject = f"Confirm your subscription to {self.site.name}"
        context = {
            "site_name": self.site.name,
            "base_url": self.site.root,
            "postal_address": self.site.postal_address,
            "email": email,
            "link": link,
            "already_subscribed": already_subscribed,
            "valid_days": valid_days,
            "heading": subject,
            "title": subject,
            "preheader": "",
        }
        message_id = f"<confirm.{secrets.token_hex(10)}@{self.site.domain}>"
        headers = (
            self._from,
            f"To: {email}",
            encode_header("Subject", subject),
            f"Date: {format_datetime(now.astimezone(dt.UTC))}",
            f"Message-ID: {message_id}",
            # Not bulk mail and not to be answered by autoresponders (RFC 3834).
            "Auto-Submitted: auto-generated",
        )
        html = self._templates["confirm.html.j2"].render(context)
        text = self._templates["confirm.txt.j2"].render(context)
        data = compose_alternative(headers, text, html)
        return RawMessage(sender=self._sender, recipients=(email,), message_id=message_id, data=data)


def parse_message(raw: RawMessage) -> EmailMessage:
    """The composed bytes as an EmailMessage, for previews and tests."""
    message = email.message_from_bytes(raw.data, _class=EmailMessage, policy=SMTP)
    assert isinstance(message, EmailMessage)
    return message


def compose_digest_message(site: MailSite, **arguments: Any) -> EmailMessage:
    """One digest as an EmailMessage (see ``MailComposer.compose_digest`` for the arguments)."""
    return parse_message(MailComposer(site).compose_digest(**arguments))
