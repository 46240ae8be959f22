"""mail/mime.py writes the one MIME shape papertide sends; the standard parser must read it back exactly."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest

from papertide.mail.mime import (
    BOUNDARY,
    MAX_HEADER_LINE,
    HeaderInjection,
    block_marker,
    check_header_value,
    compose_alternative,
    encode_address,
    encode_header,
    encode_quoted_printable,
    encode_with_blocks,
)


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def part_content(message: EmailMessage, subtype: str) -> str:
    """The decoded part with "\n" line ends, plus the line break the boundary line took.

    RFC 2046: the CRLF before a boundary belongs to the boundary, so a parser returns a part
    without its last line break; mime.py always ends a part with one.
    """
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    assert part.get_content_type() == f"text/{subtype}"
    return str(part.get_content()).replace("\r\n", "\n") + "\n"


def test_a_composed_message_parses_back_to_both_parts_and_every_header() -> None:
    headers = [
        encode_header("From", encode_address("Réseau papertide", "digest@example.org")),
        encode_header("To", "ada@example.org"),
        encode_header("Subject", "Trending today · Données et modèles"),
        encode_header("Message-ID", "<1.2@example.org>"),
    ]
    text = "Bonjour Ada,\nvoici les articles du jour : α, β, γ.\n"
    html = "<p>Bonjour <b>Ada</b>, voici les articles du jour : α, β, γ.</p>"

    message = parse(compose_alternative(headers, text, html))

    assert message.get_content_type() == "multipart/alternative"
    assert message.get_param("boundary") == BOUNDARY
    assert message["MIME-Version"] == "1.0"
    assert message["Subject"] == "Trending today · Données et modèles"
    assert message["To"] == "ada@example.org"
    assert message["Message-ID"] == "<1.2@example.org>"
    [sender] = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Réseau papertide", "digest@example.org")
    parts = list(message.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    for part in parts:
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
    assert part_content(message, "plain") == text
    assert part_content(message, "html") == html + "\n"  # a part always ends with a line break


def test_a_part_quoting_the_boundary_does_not_split_the_message() -> None:
    hostile = f"before\n--{BOUNDARY}\nContent-Type: text/html\n\nafter --{BOUNDARY}--\n"

    message = parse(compose_alternative([encode_header("Subject", "s")], hostile, "<p>ok</p>\n"))

    assert len(list(message.iter_parts())) == 2
    assert part_content(message, "plain") == hostile


def test_parts_given_as_bytes_are_taken_as_already_encoded() -> None:
    text = "Déjà encodé\n"
    encoded = encode_quoted_printable(text)

    data = compose_alternative([encode_header("Subject", "s")], encoded, "<p>html</p>")

    assert encoded in data
    assert part_content(parse(data), "plain") == text


def test_the_whole_message_is_ascii_with_crlf_line_ends_and_short_lines() -> None:
    text = "é" * 500 + "\n" + "word " * 400 + "\ttab at the end\t\n"
    html = "<p>" + "ü" * 300 + "</p>"

    data = compose_alternative([encode_header("Subject", "ünïcödé " * 20)], text, html)

    assert data.isascii()
    lines = data.split(b"\r\n")
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert max(len(line) for line in lines) <= 78
    assert part_content(parse(data), "plain") == text


@pytest.mark.parametrize("value", ["a\r\nBcc: victim@example.org", "a\nB", "a\rB", "a\0b"])
def test_line_breaks_and_nul_in_a_header_value_are_refused(value: str) -> None:
    with pytest.raises(HeaderInjection, match="Subject must not contain line breaks"):
        check_header_value("Subject", value)
    with pytest.raises(HeaderInjection):
        encode_header("Subject", value)
    with pytest.raises(HeaderInjection):
        encode_address(value, "digest@example.org")


def test_a_clean_header_value_is_returned_unchanged() -> None:
    assert check_header_value("To", "ada@example.org") == "ada@example.org"


def test_a_long_ascii_header_stays_one_readable_line() -> None:
    url = "https://papers.example.org/digest/unsubscribe/" + "t" * 400
    line = encode_header("List-Unsubscribe", f"<{url}>")

    assert line == f"List-Unsubscribe: <{url}>"
    assert "=?" not in line


def test_an_ascii_header_longer_than_one_line_may_be_is_refused() -> None:
    name = "List-Unsubscribe"
    longest = "x" * (MAX_HEADER_LINE - len(name) - 2)

    assert len(encode_header(name, longest)) == MAX_HEADER_LINE
    with pytest.raises(HeaderInjection, match="longer than one header line"):
        encode_header(name, longest + "x")


def test_non_ascii_header_values_become_encoded_words() -> None:
    line = encode_header("Subject", "Résumé of the week")

    assert line.isascii()
    assert line.startswith("Subject: =?utf-8?")
    assert parse(f"{line}\r\n\r\nbody\r\n".encode("ascii"))["Subject"] == "Résumé of the week"


def test_an_address_keeps_its_own_display_name_or_gets_the_given_one() -> None:
    assert encode_address("papertide", "digest@example.org") == "papertide <digest@example.org>"
    assert encode_address("papertide", "Lab Digest <digest@example.org>") == "Lab Digest <digest@example.org>"
    assert encode_address("Équipe", "digest@example.org").isascii()


@pytest.mark.parametrize("mailbox", ["not an address", "nobody", "jürgen@example.org", ""])
def test_an_address_that_is_not_an_ascii_mailbox_is_refused(mailbox: str) -> None:
    with pytest.raises(HeaderInjection, match="is not an ASCII address"):
        encode_address("papertide", mailbox)


def test_quoted_printable_ends_with_a_line_break_and_uses_crlf() -> None:
    assert encode_quoted_printable("a\r\nb\rc") == b"a\r\nb\r\nc\r\n"
    assert encode_quoted_printable("x = 1") == b"x =3D 1\r\n"
    assert encode_quoted_printable("") == b"\r\n"


def test_cards_encoded_once_and_spliced_in_give_the_same_bytes_as_encoding_the_whole_text() -> None:
    cards = ["<h2>α card one</h2>\n<p>" + "x" * 200 + " \n</p>", "second card, trailing space \n=tricky="]
    blocks = [encode_quoted_printable(card + "\n") for card in cards]
    ordered = f"head\n{block_marker(0)}\nbetween\n{block_marker(1)}\ntail"
    expected = ordered.replace(block_marker(0), cards[0]).replace(block_marker(1), cards[1])

    assert encode_with_blocks(ordered, blocks) == encode_quoted_printable(expected)


def test_splicing_gives_up_when_a_marker_is_repeated_missing_or_inline() -> None:
    blocks = [encode_quoted_printable("card\n"), encode_quoted_printable("other\n")]

    repeated = f"head\n{block_marker(0)}\nbetween\n{block_marker(1)}\n{block_marker(0)}\ntail"
    assert encode_with_blocks(repeated, blocks) is None
    assert encode_with_blocks(f"head\n{block_marker(0)}\ntail", blocks) is None
    assert encode_with_blocks("inline " + block_marker(0) + " text", blocks[:1]) is None
    assert encode_with_blocks(f"head\n{block_marker(1)}\n{block_marker(0)}\ntail", blocks) is None


def test_text_between_blocks_goes_through_the_given_encoder() -> None:
    seen: list[str] = []

    def encode(text: str) -> bytes:
        seen.append(text)
        return encode_quoted_printable(text)

    rendered = f"head\n{block_marker(0)}\ntail"
    encode_with_blocks(rendered, [encode_quoted_printable("card\n")], encode)

    assert seen == ["head\n", "tail"]
