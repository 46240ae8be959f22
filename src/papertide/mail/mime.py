"""Serialising a text + HTML mail straight to bytes, the one MIME shape papertide sends.

The ``email`` package takes 4-8 ms to build and flatten one 30 KB multipart message here
(header parsing, then the generator writing line by line); a digest run of 100,000
subscribers cannot afford that. This module writes the fixed shape directly:
``multipart/alternative`` with a ``text/plain`` and a ``text/html`` part, both UTF-8 and
quoted-printable (binascii's C encoder). Header values are checked for CR/LF and
RFC 2047-encoded only when they are not ASCII. The output parses back with the standard
``email`` parser (tests/mail/test_mime.py checks that).

It also sidesteps a folding problem of ``email.policy``: a long ``List-Unsubscribe`` URL is
turned into an encoded-word, which mail clients then cannot read as a URL.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable, Sequence
from email.header import Header
from email.utils import formataddr, parseaddr

# Quoted-printable output never contains "=_" (a literal "=" becomes "=3D" and soft breaks are
# "=" + CRLF), so this boundary cannot occur inside either part.
BOUNDARY = "=_papertide_alternative"
MAX_HEADER_LINE = 998


class HeaderInjection(ValueError):
    """A header value carried a line break or control character."""


def check_header_value(name: str, value: str) -> str:
    """The value unchanged, or HeaderInjection when it could start a new header line."""
    if "\r" in value or "\n" in value or "\0" in value:  # three scans, not a generator (digests: 3 per message)
        raise HeaderInjection(f"{name} must not contain line breaks")
    return value


def encode_header(name: str, value: str) -> str:
    """``Name: value`` as one logical header; non-ASCII values become RFC 2047 encoded-words."""
    check_header_value(name, value)
    if value.isascii():
        if len(name) + 2 + len(value) > MAX_HEADER_LINE:
            raise HeaderInjection(f"{name} is longer than one header line may be")
        return f"{name}: {value}"
    encoded = Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
    return f"{name}: {encoded}"


def encode_address(name: str, mailbox: str) -> str:
    """An address header value, ``Display Name <local@domain>``, with the name encoded if needed."""
    check_header_value("address", name)
    check_header_value("address", mailbox)
    display, address = parseaddr(mailbox)
    if not address or "@" not in address or not address.isascii():
        raise HeaderInjection(f"{mailbox!r} is not an ASCII address")
    return formataddr((display or name, address), charset="utf-8")


def encode_quoted_printable(text: str) -> bytes:
    """UTF-8 text as quoted-printable with CRLF line ends (soft breaks keep lines under 77)."""
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    if not normalised.endswith("\n"):
        normalised += "\n"
    encoded = binascii.b2a_qp(normalised.encode("utf-8"), quotetabs=False, istext=True, header=False)
    return encoded.replace(b"\n", b"\r\n")


def block_marker(index: int) -> str:
    """What a template renders in place of pre-encoded block ``index`` (see ``encode_with_blocks``)."""
    return f"\0{index}\0"


def encode_with_blocks(
    rendered: str, blocks: Sequence[bytes], encode: Callable[[str], bytes] = encode_quoted_printable
) -> bytes | None:
    """Quoted-printable of ``rendered`` with block ``i`` spliced in where ``block_marker(i)`` stands.

    Quoted-printable encodes line by line, so a block that is a run of whole lines can be
    encoded once (a paper's card, shared by every subscriber who gets it) and spliced into
    each message. Returns None when a marker does not stand on a line of its own (an
    overriding template put it inline); the caller then encodes the whole text.

    :param encode: how the text between blocks is encoded (the composer memoises it: the
        wrappers and reasons between cards repeat across subscribers).
    """
    if rendered.count("\0") != 2 * len(blocks):
        return None  # a marker repeated or missing: the template does not use each card once
    pieces: list[bytes] = []
    position = 0
    for index, block in enumerate(blocks):
        at = rendered.find(f"\n{block_marker(index)}\n", max(position - 1, 0))
        if at < 0:
            return None
        if at + 1 > position:
            pieces.append(encode(rendered[position : at + 1]))
        pieces.append(block)
        position = at + len(block_marker(index)) + 2
    if position < len(rendered):
        pieces.append(encode(rendered[position:]))
    return b"".join(pieces)


_PART_HEAD = 'Content-Type: text/{}; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
_BEFORE_HTML = f"--{BOUNDARY}\r\n{_PART_HEAD.format('html')}".encode("ascii")
_CLOSING = f"--{BOUNDARY}--\r\n".encode("ascii")


def alternative_frame(headers: Sequence[str]) -> tuple[bytes, bytes, bytes]:
    """What surrounds the two encoded parts: (head up to the plain part, between the parts, closing boundary).

    The message is ``head + text + between + html + closing``; a composer that builds the
    parts from pieces joins them in one go (digest/compose.py).

    :param headers: lines without line ends, each from ``encode_header`` or equally safe.
    """
    head = "\r\n".join(
        (
            *headers,
            "MIME-Version: 1.0",
            f'Content-Type: multipart/alternative; boundary="{BOUNDARY}"',
            "",
            f"--{BOUNDARY}",
            _PART_HEAD.format("plain"),
        )
    )
    return head.encode("ascii"), _BEFORE_HTML, _CLOSING


def compose_alternative(headers: Sequence[str], text: str | bytes, html: str | bytes) -> bytes:
    """The whole message: pre-encoded header lines (``encode_header``), then both parts.

    :param headers: lines without line ends, each from ``encode_header`` or equally safe.
    :param text: the plain part, or its quoted-printable bytes when already encoded.
    :param html: the HTML part, likewise.
    """
    head, between, closing = alternative_frame(headers)
    return b"".join(
        (
            head,
            text if isinstance(text, bytes) else encode_quoted_printable(text),
            between,
            html if isinstance(html, bytes) else encode_quoted_printable(html),
            closing,
        )
    )
