"""The paper page (issue 10): canonical addresses, labelled dates, arXiv links, linked abstracts, meta tags."""

from __future__ import annotations

import json
from typing import Any

from bs4 import BeautifulSoup

from papertide.domain.linked_text import render_linked_text
from tests.corpus import SMALL_CORPUS

FIRST = json.loads(SMALL_CORPUS.read_text(encoding="utf-8").splitlines()[0])
KEY = FIRST["arxiv_id"]


def soup(response: Any) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def test_a_trailing_slash_redirects_to_the_canonical_address(client: Any) -> None:
    response = client.get(f"/papers/{KEY}/", follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["location"] == f"/papers/{KEY}"
    assert client.get(f"/papers/{KEY}/").status_code == 200


def test_a_version_newer_than_the_stored_one_is_404_naming_the_latest(client: Any) -> None:
    response = client.get(f"/papers/{KEY}v9")
    assert response.status_code == 404
    assert "v9" in soup(response).select_one("main").get_text()


def test_listing_and_publication_dates_are_labelled(client: Any) -> None:
    page = soup(client.get(f"/papers/{KEY}"))
    labels = {
        dt.get_text(strip=True): dd
        for dt, dd in zip(page.select(".paper-dates dt"), page.select(".paper-dates dd"), strict=True)
    }
    assert labels["Published"].select_one("time")["datetime"].startswith(FIRST["published"][:10])
    assert "Listed" in labels


def test_the_page_links_the_arxiv_abstract_pdf_and_html_version(client: Any) -> None:
    page = soup(client.get(f"/papers/{KEY}"))
    links = {a.get_text(strip=True): a["href"] for a in page.select(".paper-actions a")}
    assert links["Abstract on arXiv"] == f"https://arxiv.org/abs/{KEY}"
    assert links["PDF"] == f"https://arxiv.org/pdf/{KEY}"
    assert links["HTML"] == f"https://arxiv.org/html/{KEY}"


def test_addresses_in_the_abstract_are_links(client: Any) -> None:
    page = soup(client.get(f"/papers/{KEY}"))
    [link] = page.select(".abstract a")
    assert link["href"] == "https://github.com/XuZhao0/fineverify"
    assert "nofollow" in link["rel"]


def test_linked_text_escapes_everything_and_links_only_http_addresses() -> None:
    html = render_linked_text(
        '<script>alert(1)</script> see javascript:alert(1), x@y.org & https://a.example/b?c=1&d="e"'
    )
    page = BeautifulSoup(html, "html.parser")
    assert page.select("script") == []
    assert [a["href"] for a in page.select("a")] == ["https://a.example/b?c=1&d=%22e%22"]
    assert "<script>" in page.get_text() and "javascript:alert(1)" in page.get_text()


def test_the_page_has_a_description_opengraph_tags_and_a_favicon(client: Any) -> None:
    page = soup(client.get(f"/papers/{KEY}"))
    description = page.select_one('meta[name="description"]')["content"]
    assert description and FIRST["abstract"].startswith(description.rstrip("…")[:100])
    assert page.select_one('meta[property="og:title"]')["content"] == FIRST["title"]
    assert page.select_one('meta[property="og:url"]')["content"].endswith(f"/papers/{KEY}")
    icon = page.select_one('link[rel="icon"]')["href"]
    favicon = client.get(icon)
    assert favicon.status_code == 200 and favicon.headers["content-type"].startswith("image/svg+xml")
