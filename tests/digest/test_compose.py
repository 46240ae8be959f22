"""The digest mail: multipart text + HTML, escaped, self-contained, with every header the issue lists."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from papertide.digest.compose import DigestEntry, MailComposer, MailSite, compose_excerpt, parse_message
from papertide.digest.tokens import check_token
from papertide.mail.mime import HeaderInjection
from papertide.mail.transport import dot_stuffed

NOW = dt.datetime(2026, 8, 21, 7, 0, tzinfo=dt.UTC)


def entries() -> list[DigestEntry]:
    return [
        DigestEntry(
            paper_id=1,
            arxiv_id="2608.00001",
            title="Neural ODEs <script>alert(1)</script> & chaos in $O(n^2)$",
            authors=("\\'Emile Borel", "Ada Lovelace"),
            abstract="We learn $\\alpha$-divergences from data. " * 20,
            upvotes=42,
            reason="matches your topic 'neural ODEs'",
        ),
        DigestEntry(
            paper_id=2,
            arxiv_id="math/0601001",
            title="An older identifier",
            authors=tuple(f"Author {i}" for i in range(9)),
            abstract="Plain.",
            upvotes=1,
            reason="trending with 1 upvote",
        ),
    ]


def compose(composer: MailComposer, **changes: object):  # type: ignore[no-untyped-def]
    arguments: dict[str, object] = {
        "subscriber_id": 7,
        "email": "jane@example.org",
        "frequency": "daily",
        "period_label": "21 Aug 2026",
        "message_id": "<digest.day-2026-08-21.7.abc@papers.example.org>",
        "entries": entries(),
        "now": NOW,
    }
    arguments.update(changes)
    return composer.compose_digest(**arguments)  # type: ignore[arg-type]


def test_the_message_carries_every_header_of_the_issue(composer: MailComposer) -> None:
    message = parse_message(compose(composer))
    assert message["From"] == "papertide <digest@papers.example.org>"
    assert message["To"] == "jane@example.org"
    assert "21 Aug 2026" in message["Subject"]
    assert message["Date"] == "Fri, 21 Aug 2026 07:00:00 +0000"
    assert message["Message-ID"] == "<digest.day-2026-08-21.7.abc@papers.example.org>"
    assert message["List-Id"] == "papertide digest <digest.papers.example.org>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    links = re.findall(r"<([^>]+)>", str(message["List-Unsubscribe"]))
    assert links[0].startswith("https://papers.example.org/unsubscribe/")
    assert links[1] == "mailto:digest@papers.example.org?subject=unsubscribe"


def test_the_unsubscribe_link_is_a_plain_url_even_though_it_is_long(composer: MailComposer) -> None:
    raw = compose(composer).data
    header = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert "=?utf-8?" not in header.split("List-Unsubscribe:", 1)[1].split("List-Unsubscribe-Post")[0]
    token = re.search(r"/unsubscribe/([^>]+)>", header)
    assert token is not None
    check_token(composer.site.secret, "unsubscribe", token.group(1), "jane@example.org", now=NOW, max_age=None)


def test_each_paper_shows_readable_title_link_authors_excerpt_votes_and_reason_in_both_parts(
    composer: MailComposer,
) -> None:
    message = parse_message(compose(composer))
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Neural ODEs <script>alert(1)</script> & chaos in O(n²)" in text
    assert "We learn α-divergences from data." in text and "…" in text
    assert "https://papers.example.org/papers/2608.00001" in text
    assert "Why: matches your topic 'neural ODEs'" in text
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find("script") is None
    titles = [heading.get_text() for heading in soup.find_all("h2")]
    assert titles == ["Neural ODEs <script>alert(1)</script> & chaos in O(n²)", "An older identifier"]
    links = [a["href"] for a in soup.find_all("a")]
    assert "https://papers.example.org/papers/2608.00001" in links
    assert "https://papers.example.org/papers/math/0601001" in links
    assert "Émile Borel, Ada Lovelace · 42 upvotes" in soup.get_text()
    assert "Author 0, Author 1, Author 2, Author 3, Author 4 and 4 more" in soup.get_text()
    assert "Why: matches your topic 'neural ODEs'" in soup.get_text()
    assert "1 Example Street" in soup.get_text() and "1 Example Street" in text


def test_the_html_is_self_contained_600_px_and_has_no_trackers(composer: MailComposer) -> None:
    html = parse_message(compose(composer)).get_body(("html",)).get_content()  # type: ignore[union-attr]
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find("img") is None
    assert soup.find("link") is None and soup.find("script") is None
    assert 'name="viewport"' in html
    container = soup.find("table", class_="container")
    assert container is not None and container["width"] == "600" and "max-width:600px" in container["style"]
    assert all(tag.get("style") for tag in soup.find_all(["p", "h2"]))
    assert "@media (max-width: 620px)" in html
    external = [a["href"] for a in soup.find_all("a") if not a["href"].startswith("https://papers.example.org/")]
    assert external == []


def test_footer_links_manage_and_unsubscribe_with_valid_tokens(composer: MailComposer) -> None:
    html = parse_message(compose(composer)).get_body(("html",)).get_content()  # type: ignore[union-attr]
    soup = BeautifulSoup(html, "html.parser")
    manage = soup.find("a", string=re.compile("Change topics"))
    assert manage is not None
    token = manage["href"].rsplit("/", 1)[1]
    check_token(composer.site.secret, "manage", token, "jane@example.org", now=NOW, max_age=dt.timedelta(days=1))


def test_weekly_subjects_name_the_week(composer: MailComposer) -> None:
    message = parse_message(compose(composer, frequency="weekly", period_label="17 Aug 2026"))
    assert "week of 17 Aug 2026" in message["Subject"]


def test_non_ascii_site_names_are_encoded_in_headers(site: MailSite) -> None:
    composer = MailComposer(
        MailSite(
            name="Papiers tendance — Zürich", base_url=site.base_url, mail_from="Zürich <d@example.org>", secret="s"
        )
    )
    raw = compose(composer)
    head = raw.data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    message = parse_message(raw)
    assert "Zürich" in message["Subject"] and "Zürich" in message["From"]


@pytest.mark.parametrize("field", ["email", "message_id"])
def test_line_breaks_in_any_header_value_are_refused(composer: MailComposer, field: str) -> None:
    with pytest.raises(HeaderInjection):
        compose(composer, **{field: "jane@example.org\r\nBcc: victim@example.org"})


def test_the_bytes_use_crlf_and_short_lines(composer: MailComposer) -> None:
    raw = compose(composer).data
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


def test_excerpts_end_at_a_word_with_an_ellipsis() -> None:
    text = "word " * 100
    excerpt = compose_excerpt(text, limit=40)
    assert excerpt.endswith("…") and len(excerpt) <= 41 and "wor…" not in excerpt
    assert compose_excerpt("  short\n text ") == "short text"


def test_confirmation_mails_link_to_confirm_or_to_preferences(composer: MailComposer) -> None:
    pending = parse_message(
        composer.compose_confirmation(
            subscriber_id=3, email="jane@example.org", already_subscribed=False, valid_days=7, now=NOW
        )
    )
    confirmed = parse_message(
        composer.compose_confirmation(
            subscriber_id=3, email="jane@example.org", already_subscribed=True, valid_days=7, now=NOW
        )
    )
    assert "/subscribe/confirm/" in pending.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "/digest/preferences/" in confirmed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert pending["List-Unsubscribe"] is None
    assert pending["Auto-Submitted"] == "auto-generated"


def test_an_operator_template_with_cards_inline_still_renders_them(tmp_path: Path, site: MailSite) -> None:
    (tmp_path / "digest.txt.j2").write_text(
        "{% for entry in entries %}{{ loop.index }}. {{ entry.fragment }} ({{ entry.reason }})\n{% endfor %}",
        encoding="utf-8",
    )
    custom = MailComposer(
        MailSite(
            name=site.name, base_url=site.base_url, mail_from=site.mail_from, secret=site.secret, templates_dir=tmp_path
        )
    )
    text = parse_message(compose(custom)).get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.startswith("1. Neural ODEs <script>alert(1)</script> & chaos in O(n²)")
    assert "(matches your topic 'neural ODEs')" in text


def test_control_characters_stored_in_a_paper_never_reach_the_mail(composer: MailComposer) -> None:
    hostile = DigestEntry(
        paper_id=3,
        arxiv_id="2608.00003",
        title="Bell\x01 states\x00 and \x0bwhistles",
        authors=("Ada\x02 Lovelace",),
        abstract="An\x1f abstract.",
        upvotes=3,
        reason="trending",
    )
    message = parse_message(compose(composer, entries=[*entries(), hostile]))
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    for part in (text, html):
        assert "Bell states and whistles" in part
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", part)


def with_reasons(*reasons: str) -> list[DigestEntry]:
    return [dataclasses.replace(entry, reason=reason) for entry, reason in zip(entries(), reasons, strict=True)]


def test_later_digests_of_the_same_shape_are_byte_for_byte_what_a_full_rendering_gives(site: MailSite) -> None:
    reused = MailComposer(site)
    compose(reused)  # the first of its shape: rendered whole, and its skeleton checked and kept
    for number, (email, reasons) in enumerate(
        [
            ("o'brien+r&d@example.org", ("matches your topic 'R&D <labs>'", 'by "Ada" & co')),
            ("zoe@example.org", ("trending with 3 upvotes", "matches your topic 'ü-bahn'")),
        ],
        start=8,
    ):
        changes = {"subscriber_id": number, "email": email, "entries": with_reasons(*reasons)}
        assert compose(reused, **changes).data == compose(MailComposer(site), **changes).data
    assert any(skeleton is not None for skeleton in reused._skeletons.values()), "the fast path was not taken"


def test_a_template_that_transforms_a_subscriber_value_is_rendered_whole_for_each_message(
    site: MailSite, tmp_path: Path
) -> None:
    (tmp_path / "digest.txt.j2").write_text(
        "{{ email|upper }}{% for entry in entries %}\n{{ entry.fragment }}{% endfor %}\n"
    )
    custom = MailComposer(dataclasses.replace(site, templates_dir=tmp_path))
    compose(custom)
    second = parse_message(compose(custom, subscriber_id=8, email="bob@example.org"))
    text = second.get_body(("plain",))
    assert text is not None and str(text.get_content()).startswith("BOB@EXAMPLE.ORG")


def test_a_why_line_is_escaped_once_per_run_not_once_per_message(
    composer: MailComposer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import papertide.digest.compose as compose_module

    many = [dataclasses.replace(entries()[1], paper_id=i, arxiv_id=f"2608.{i:05d}") for i in range(3, 13)]
    compose(composer, entries=many)  # the first message of its shape is also rendered whole
    calls: list[object] = []
    original = compose_module.clean_output

    def counted(value: object) -> object:
        calls.append(value)
        return original(value)

    monkeypatch.setattr(compose_module, "clean_output", counted)
    first = compose(composer, entries=many, email="ann@example.org", subscriber_id=8)
    escaped_first = len(calls)
    second = compose(composer, entries=many, email="bob@example.org", subscriber_id=9)

    # Only the subscriber's own values (address and two links, once for both parts) are escaped again:
    # the same digest's preheader and ten why lines come from the digest's kept body.
    assert calls[escaped_first:] == ["bob@example.org", *calls[escaped_first + 1 : escaped_first + 3]]
    assert len(calls) - escaped_first == 3
    assert escaped_first < len(many)
    assert first.data != second.data


HOSTILE_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from([".", "=", "<", ">", "&", '"', "'", " ", "\t", "\n", "\r", "ü", "$", "\\"]), st.characters()
    ),
    max_size=120,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    email=st.emails(),
    reasons=st.tuples(HOSTILE_TEXT, HOSTILE_TEXT),
    title=HOSTILE_TEXT,
    abstract=HOSTILE_TEXT,
)
def test_a_digest_built_from_cached_pieces_is_byte_for_byte_the_one_built_whole(
    site: MailSite, email: str, reasons: tuple[str, str], title: str, abstract: str
) -> None:
    changed = [dataclasses.replace(entries()[0], title=title or "t", abstract=abstract), entries()[1]]
    changed = [dataclasses.replace(entry, reason=reason) for entry, reason in zip(changed, reasons, strict=True)]
    warm = MailComposer(site)
    compose(warm, entries=changed)  # the first of its shape: rendered whole, its skeleton and layout kept
    fast = compose(warm, subscriber_id=8, email=email, entries=changed)
    whole = compose(MailComposer(site), subscriber_id=8, email=email, entries=changed)
    assert any(layout is not None for layout in warm._layouts.values()), "the cached pieces were not used"
    assert fast.data == whole.data
    assert fast.smtp_data == dot_stuffed(fast.data)
    parsed = parse_message(fast)
    assert parsed["To"] == email


def test_later_digests_encode_only_the_lines_that_carry_the_subscriber(
    composer: MailComposer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import papertide.digest.layout as layout_module

    compose(composer)
    compose(composer, subscriber_id=8, email="ann@example.org")  # layouts compiled, why lines encoded
    encoded: list[str] = []
    original = layout_module.encode_quoted_printable

    def counted(text: str) -> bytes:
        encoded.append(text)
        return original(text)

    monkeypatch.setattr(layout_module, "encode_quoted_printable", counted)
    raw = compose(composer, subscriber_id=9, email="bob@example.org")
    # Each part's subscriber lines follow each other and are encoded in one go: the text part's "because"
    # line and two links, the HTML part's "because" line and links' line.
    assert len(encoded) == 2
    assert all(
        "bob@example.org" in text and "/digest/preferences/9." in text and "/unsubscribe/9." in text for text in encoded
    )
    assert all(text.count("\n") == lines for text, lines in zip(encoded, [3, 2], strict=True))
    assert b"bob@example.org" in raw.data


def test_a_line_starting_with_a_dot_is_doubled_only_in_the_smtp_form(composer: MailComposer) -> None:
    dotted = [dataclasses.replace(entry, abstract=".leading dot " + entry.abstract) for entry in entries()]
    compose(composer, entries=dotted)  # the first of its shape: whole, stuffed by the transport's function
    later = compose(composer, subscriber_id=8, email="ann@example.org", entries=dotted)  # from cached pieces
    assert later.smtp_data == dot_stuffed(later.data)
    assert b"\r\n.leading dot" in later.data and b"\r\n..leading dot" not in later.data
    assert later.smtp_data is not None and b"\r\n..leading dot" in later.smtp_data


def test_digests_that_share_their_papers_differ_only_in_their_subscriber_even_as_kept_bodies_are_dropped(
    site: MailSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    import papertide.digest.layout as layout_module

    monkeypatch.setattr(layout_module, "_BODIES", 1)  # every other message finds its body dropped
    warm = MailComposer(site)
    bodies = [with_reasons("trending", "matches 'a'"), with_reasons("trending", "matches 'b'")]
    for number in range(6):
        changes = {"subscriber_id": number, "email": f"r{number}@example.org", "entries": bodies[number % 2]}
        assert compose(warm, **changes).data == compose(MailComposer(site), **changes).data


def test_a_digest_without_a_line_starting_with_a_dot_is_joined_once_for_both_forms(composer: MailComposer) -> None:
    compose(composer)
    later = compose(composer, subscriber_id=8, email="ann@example.org")
    assert later.smtp_data is later.data, "the SMTP form is the same bytes object, not a second join"
    assert dot_stuffed(later.data) == later.data


@pytest.mark.parametrize(
    ("period_key", "subscriber_id", "expected"),
    [
        ("day:2026-08-21", 7, "<digest.day-2026-08-21.7.7daf8c92a333@papers.example.org>"),
        ("week:2026-W34", 123456, "<digest.week-2026-W34.123456.3a9288be915c@papers.example.org>"),
        ("preview:day:2026-08-21", 1, "<digest.preview-day-2026-08-21.1.951aa1ec2db4@papers.example.org>"),
        ("día:2026-08-21 x", 42, "<digest.día-2026-08-21-x.42.96542de6bd28@papers.example.org>"),
    ],
)
def test_message_ids_stay_those_earlier_versions_stored_for_the_same_period_and_subscriber(
    period_key: str, subscriber_id: int, expected: str
) -> None:
    # Pinned from the version before the period part was memoised and the HMAC taken in one call (issue 13):
    # a digest planned by one version and sent again by another must keep its Message-ID.
    site = MailSite(
        name="Papertide",
        base_url="https://papers.example.org",
        mail_from="Papertide <digest@papers.example.org>",
        secret="s3cret-key-for-message-ids",
    )
    assert site.make_message_id(period_key, subscriber_id) == expected
    assert site.make_message_id(period_key, subscriber_id) == expected  # memoised period part: the same again
