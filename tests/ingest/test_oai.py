"""`ingest oai`: ListRecords parsed, resumption tokens followed, harvest state saved only after success."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from papertide.domain.models import Paper
from papertide.ingest.oai import OaiSource, read_resume_date
from papertide.ingest.oai_xml import parse_list_records
from papertide.ingest.pipeline import run_source
from papertide.ingest.report import EXIT_FAILURE, EXIT_NOTHING_NEW
from papertide.ingest.source import Deletion
from papertide.store.papers import count_papers, get_paper_by_arxiv_id
from tests.ingest.ingest_server import (
    FAST,
    Answer,
    FeedServer,
    Sleeps,
    oai_page,
    polite_client,
    recorded_oai_records,
    running_server,
)

RESPONSE_DAY = dt.date(2018, 6, 21)  # <responseDate> of the recording
FIRST, SECOND = recorded_oai_records()
DELETED = (
    '<record>\n<header status="deleted">\n <identifier>oai:arXiv.org:0704.0002</identifier>\n'
    " <datestamp>2015-01-02</datestamp>\n <setSpec>cs</setSpec>\n</header>\n</record>"
)
# The arXivRaw format as arXiv documents it (https://arxiv.org/OAI/arXivRaw.xsd); no recording exists.
RAW = """<record>
<header>
 <identifier>oai:arXiv.org:0704.0001</identifier>
 <datestamp>2008-11-26</datestamp>
 <setSpec>physics:hep-ph</setSpec>
</header>
<metadata>
 <arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/">
 <id>0704.0001</id><submitter>Pavel Nadolsky</submitter>
 <version version="v1"><date>Mon, 2 Apr 2007 19:18:42 GMT</date><size>37kb</size><source_type>D</source_type></version>
 <version version="v2"><date>Tue, 24 Jul 2007 20:10:27 GMT</date><size>37kb</size><source_type>D</source_type></version>
 <title>Calculation of prompt diphoton production cross sections at Tevatron and
  LHC energies</title><authors>C. Bal\\'azs, E. L. Berger, P. M. Nadolsky, C.-P. Yuan</authors>
 <categories>hep-ph</categories><comments>37 pages, 15 figures; published version</comments>
 <journal-ref>Phys.Rev.D76:013009,2007</journal-ref><doi>10.1103/PhysRevD.76.013009</doi>
 <abstract>  A fully differential calculation in perturbative quantum chromodynamics is
presented for the production of massive photon pairs at hadron colliders.
</abstract></arXivRaw>
</metadata>
</record>"""


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_server() as running:
        yield running


def harvest(engine: Engine, url: str, *, sleeps: Sleeps | None = None, **options: object):
    with polite_client("oai", sleeps) as client:
        source = OaiSource(client, url, **options)  # type: ignore[arg-type]
        return run_source(engine, source, batch_size=1)


def test_the_recorded_response_parses_both_records() -> None:
    page = parse_list_records(oai_page(), "fixture", "arXiv")
    first, second = page.items
    assert isinstance(first, Paper) and isinstance(second, Paper)
    assert (page.token, page.response_date) == (None, RESPONSE_DAY)
    assert first.arxiv_id == "1412.8544"
    assert first.title == "A Kochen-Specker system has at least 22 vectors (extended abstract)"
    assert first.authors == ("Sander Uijlen", "Bas Westerbaan")
    assert first.categories == ("cs.DM",) and first.primary_category == "cs.DM"
    assert first.doi == "10.4204/EPTCS.172.11" and first.journal_ref == "EPTCS 172, 2014, pp. 154-164"
    assert first.published == dt.date(2014, 12, 29) and first.updated == dt.date(2014, 12, 29)
    assert second.arxiv_id == "hep-th/9504118" and second.authors == ("M. Requardt",)
    assert "&quot;" not in second.abstract and '"strength"' in second.abstract


def test_the_arxiv_raw_format_gives_the_latest_version_and_its_dates() -> None:
    page = parse_list_records(oai_page([RAW]).replace(b'metadataPrefix="arXiv"', b""), "fixture", "arXivRaw")
    (paper,) = page.items
    assert isinstance(paper, Paper)
    assert (paper.arxiv_id, paper.version) == ("0704.0001", 2)
    assert (paper.published, paper.updated) == (dt.date(2007, 4, 2), dt.date(2007, 7, 24))
    assert paper.authors[-1] == "C.-P. Yuan" and len(paper.authors) == 4


def test_resumption_tokens_are_followed_to_the_end(engine: Engine, server: FeedServer) -> None:
    def answer(query: dict[str, str]) -> Answer:
        if query.get("resumptionToken") == "6960524|1001":
            return Answer(oai_page([SECOND]))
        return Answer(oai_page([FIRST], token="6960524|1001", complete=2))

    url = server.route("/oai", answer)
    report = harvest(engine, url, set_spec="cs", from_date=dt.date(2015, 1, 1), until=dt.date(2015, 1, 3))
    first, second = (request.query for request in server.requests)
    assert first == {
        "verb": "ListRecords",
        "metadataPrefix": "arXiv",
        "set": "cs",
        "from": "2015-01-01",
        "until": "2015-01-03",
    }
    assert second == {"verb": "ListRecords", "resumptionToken": "6960524|1001"}
    assert report.new == 2 and report.failure is None
    with engine.connect() as conn:
        assert get_paper_by_arxiv_id(conn, "hep-th/9504118") is not None


def test_the_next_run_continues_from_the_saved_date(engine: Engine, server: FeedServer) -> None:
    url = server.route("/oai", Answer(oai_page()))
    harvest(engine, url, set_spec="cs", from_date=dt.date(2015, 1, 1))
    resume = read_resume_date(engine, "cs", "arXiv")
    again = harvest(engine, url, set_spec="cs", from_date=resume)
    assert resume == RESPONSE_DAY
    assert server.requests[-1].query["from"] == "2018-06-21"
    assert again.exit_code == EXIT_NOTHING_NEW
    assert read_resume_date(engine, "math", "arXiv") is None
    assert read_resume_date(engine, "cs", "arXivRaw") is None


def test_a_harvest_that_breaks_off_keeps_its_records_but_not_the_new_date(engine: Engine, server: FeedServer) -> None:
    def answer(query: dict[str, str]) -> Answer:
        if "resumptionToken" in query:
            return Answer(oai_page([SECOND])[:700])
        return Answer(oai_page([FIRST], token="t1"))

    url = server.route("/oai", answer)
    report = harvest(engine, url, set_spec="cs", from_date=dt.date(2015, 1, 1))
    assert report.exit_code == EXIT_FAILURE
    assert report.failure is not None
    assert "resumptionToken=t1" in report.failure and "malformed XML at line" in report.failure
    with engine.connect() as conn:
        assert count_papers(conn) == 1
    assert read_resume_date(engine, "cs", "arXiv") is None


def test_a_later_from_date_leaves_a_gap_so_the_saved_date_stays(engine: Engine, server: FeedServer) -> None:
    url = server.route("/oai", Answer(oai_page()))
    harvest(engine, url, set_spec="cs", from_date=dt.date(2015, 1, 1), until=dt.date(2016, 1, 1))
    harvest(engine, url, set_spec="cs", from_date=dt.date(2017, 1, 1))
    assert read_resume_date(engine, "cs", "arXiv") == dt.date(2016, 1, 1)


def test_a_503_with_retry_after_is_honoured_as_recorded(engine: Engine, server: FeedServer) -> None:
    busy = Answer(
        b"<h1>Retry after 10 seconds</h1>", status=503, headers={"Retry-After": "10"}, content_type="text/html"
    )
    url = server.route("/oai", busy, Answer(oai_page()))
    sleeps = Sleeps()
    report = harvest(engine, url, sleeps=sleeps, set_spec=None)
    assert sleeps.waits == [10.0]
    assert report.new == 2


def test_deleted_records_are_counted_and_not_stored(engine: Engine, server: FeedServer) -> None:
    url = server.route("/oai", Answer(oai_page([FIRST, DELETED])))
    report = harvest(engine, url, set_spec="cs")
    assert (report.new, report.deleted, report.skipped) == (1, 1, 0)
    assert "deleted 1" in report.summary()
    page = parse_list_records(oai_page([DELETED]), "fixture", "arXiv")
    assert page.items == [Deletion("0704.0002")]


def test_no_records_match_is_a_quiet_success(engine: Engine, server: FeedServer) -> None:
    body = oai_page([]).replace(b"<ListRecords>\n\n</ListRecords>", b'<error code="noRecordsMatch">No records</error>')
    url = server.route("/oai", Answer(body))
    report = harvest(engine, url, set_spec="cs", from_date=dt.date(2015, 1, 1))
    assert report.failure is None and report.exit_code == EXIT_NOTHING_NEW
    assert read_resume_date(engine, "cs", "arXiv") == RESPONSE_DAY


def test_a_protocol_error_is_reported_with_its_code(engine: Engine, server: FeedServer) -> None:
    body = oai_page([]).replace(
        b"<ListRecords>\n\n</ListRecords>", b'<error code="badResumptionToken">expired token</error>'
    )
    url = server.route("/oai", Answer(body))
    report = harvest(engine, url, set_spec="cs")
    assert report.failure is not None and "badResumptionToken" in report.failure and "expired token" in report.failure


def test_a_record_without_a_title_is_skipped_with_its_identifier(engine: Engine, server: FeedServer) -> None:
    untitled = FIRST.replace("<title>A Kochen-Specker system has at least 22 vectors (extended abstract)</title>", "")
    url = server.route("/oai", Answer(oai_page([untitled, SECOND])))
    report = harvest(engine, url, set_spec="cs")
    assert (report.new, report.skipped) == (1, 1)
    assert report.problems[0].location.endswith("record 1 (oai:arXiv.org:1412.8544)")
    assert "'title'" in report.problems[0].reason


def test_a_server_that_keeps_failing_ends_the_run_without_advancing(engine: Engine, server: FeedServer) -> None:
    url = server.route("/oai", Answer(b"down", status=503))
    politeness = dataclasses.replace(FAST, retries=1)
    with polite_client("oai", politeness=politeness) as client:
        report = run_source(engine, OaiSource(client, url, set_spec="cs"))
    assert report.failure is not None and "HTTP 503" in report.failure and "2 tries" in report.failure
    assert read_resume_date(engine, "cs", "arXiv") is None
