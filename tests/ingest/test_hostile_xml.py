"""Every XML source refuses DTDs and entities in any encoding (issue 9: UTF-16 slipped past a byte search)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from papertide.ingest.arxiv_api import ArxivApiSource
from papertide.ingest.oai import OaiSource
from papertide.ingest.pipeline import run_source
from papertide.ingest.report import IngestReport
from papertide.store.papers import count_papers
from tests.ingest.ingest_server import Answer, FeedServer, oai_page, polite_client, recorded_oai_records, running_server

LAUGHS = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
BILLION_LAUGHS = f'<!DOCTYPE lolz [<!ENTITY lol0 "lol">{LAUGHS}]>'
EXTERNAL = '<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def hostile(body: str, doctype: str, encoding: str) -> bytes:
    """``body`` with ``doctype`` after its declaration, encoded as declared."""
    declaration = f'<?xml version="1.0" encoding="{encoding.upper()}"?>'
    root_start = body.index("<", body.index("?>"))
    text = declaration + doctype + body[root_start:]
    return text.encode(encoding)


def oai_body(entity: str) -> str:
    first, _ = recorded_oai_records()
    page = oai_page([first.replace("<title>", f"<title>&{entity};")]).decode("utf-8")
    return page


ATOM = (
    '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" '
    'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"><title>&{entity};</title>'
    "<opensearch:totalResults>1</opensearch:totalResults><opensearch:startIndex>0</opensearch:startIndex>"
    "</feed>"
)

PAYLOADS = {"billion laughs": (BILLION_LAUGHS, "lol9"), "external entity": (EXTERNAL, "xxe")}
ENCODINGS = ["utf-8", "utf-16", "utf-16-le", "utf-16-be"]


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_server() as running:
        yield running


def assert_refused(engine: Engine, report: IngestReport) -> None:
    assert report.failure is not None
    # UTF-16 without a byte order mark is refused before its DTD is even read.
    assert "DTD or entities" in report.failure or "unsupported XML encoding" in report.failure
    with engine.connect() as conn:
        assert count_papers(conn) == 0


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("payload", list(PAYLOADS))
def test_an_oai_response_with_a_dtd_is_refused_in_any_encoding(
    sqlite_engine: Engine, server: FeedServer, payload: str, encoding: str
) -> None:
    doctype, entity = PAYLOADS[payload]
    url = server.route("/oai", Answer(hostile(oai_body(entity), doctype, encoding)))
    with polite_client("oai") as client:
        report = run_source(sqlite_engine, OaiSource(client, url, set_spec="cs"))
    assert_refused(sqlite_engine, report)


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("payload", list(PAYLOADS))
def test_an_arxiv_api_feed_with_a_dtd_is_refused_in_any_encoding(
    sqlite_engine: Engine, server: FeedServer, payload: str, encoding: str
) -> None:
    doctype, entity = PAYLOADS[payload]
    url = server.route("/api/query", Answer(hostile(ATOM.replace("{entity}", entity), doctype, encoding)))
    with polite_client("arxiv-api") as client:
        report = run_source(sqlite_engine, ArxivApiSource(client, url, "all:x", max_results=10, page_size=10))
    assert_refused(sqlite_engine, report)
