"""Comment Markdown: the subset renders, every script-carrying trick comes out inert, links are counted."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from papertide.domain.markdown import count_links, render_markdown


def soup(body: str) -> BeautifulSoup:
    return BeautifulSoup(render_markdown(body), "html.parser")


def test_emphasis_code_lists_quotes_and_links_render() -> None:
    html = soup(
        "*em* **strong** ~~gone~~ `x < y`\n\n- one\n- two\n\n1. first\n\n> quoted\n\n[site](https://example.org)"
    )
    assert html.find("em").text == "em" and html.find("strong").text == "strong" and html.find("s").text == "gone"
    assert html.find("code").text == "x < y"
    assert [li.text for li in html.find("ul").find_all("li")] == ["one", "two"]
    assert html.find("ol") is not None and html.find("blockquote").text.strip() == "quoted"
    link = html.find("a")
    assert link["href"] == "https://example.org" and link["rel"] == ["nofollow", "ugc"]


def test_a_script_tag_is_shown_as_text_not_run() -> None:
    html = soup("<script>alert(1)</script>hello")
    assert html.find("script") is None
    assert "<script>alert(1)</script>" in html.text


def test_an_img_with_onerror_becomes_text() -> None:
    html = soup('<img src="x" onerror="alert(1)"> and ![pic](https://example.org/a.png)')
    assert html.find("img") is None
    assert not any(tag.has_attr("onerror") for tag in html.find_all(True))


@pytest.mark.parametrize(
    "body",
    [
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](&#106;avascript:alert(1))",
        "[click](java&#x09;script:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[click](vbscript:msgbox)",
        "[click](/relative/path)",
        "[click](mailto:someone@example.org)",
        "<javascript:alert(1)>",
        "[click][ref]\n\n[ref]: javascript:alert(1)",
    ],
)
def test_links_other_than_http_and_https_are_not_links(body: str) -> None:
    html = soup(body)
    assert html.find("a") is None
    assert count_links(body) == 0


def test_html_entities_cannot_smuggle_markup() -> None:
    html = soup("&lt;script&gt;alert(1)&lt;/script&gt; &#60;b onmouseover=alert(1)&#62;x")
    assert html.find("script") is None and html.find("b") is None


def test_attribute_injection_through_a_link_title_stays_inside_the_attribute() -> None:
    html = soup('[x](https://example.org "a\\" onmouseover=\\"alert(1)")')
    link = html.find("a")
    assert link is not None and not link.has_attr("onmouseover")


def test_headings_are_not_part_of_the_subset() -> None:
    html = soup("# Big\n\nSetext\n===")
    assert html.find(["h1", "h2"]) is None
    assert "# Big" in html.text


def test_maths_is_shown_as_tex_source_in_code() -> None:
    html = soup(r"Let $\alpha^2 < \beta$ and $$E = mc^2$$.")
    maths = html.find_all("code", class_="math")
    assert [node.text for node in maths] == [r"\alpha^2 < \beta", "E = mc^2"]


def test_dollar_amounts_are_not_maths() -> None:
    html = soup("It costs $5 and $10, or \\$20.")
    assert html.find("code") is None
    assert "$5 and $10" in html.text


def test_code_classes_other_than_math_are_dropped() -> None:
    html = soup('```python" onclick="x\nprint(1)\n```')
    code = html.find("code")
    assert code is not None and not code.get("class") and not code.has_attr("onclick")


def test_links_are_counted_linked_and_bare_but_not_twice_or_in_code() -> None:
    body = "see https://a.example and [b](https://b.example) <https://c.example> `https://in.code`"
    assert count_links(body) == 3
