"""arXiv's OAI-PMH interface: ``ListRecords`` in the ``arXiv`` or ``arXivRaw`` format, incremental.

Protocol: https://www.openarchives.org/OAI/openarchivesprotocol.html; arXiv's formats:
https://info.arxiv.org/help/oa/index.html. A harvest follows resumption tokens to the end; the
date of the first response is saved per (set, prefix) after the run is fully stored, and the
next run without ``--from`` starts there. Day granularity makes consecutive harvests overlap
by a day, which re-reads a few records and stores nothing twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from sqlalchemy import Engine

from papertide.ingest.http import FetchError, PoliteClient
from papertide.ingest.oai_xml import OaiPage, parse_list_records
from papertide.ingest.report import IngestReport
from papertide.ingest.source import Item
from papertide.store.engine import begin_write
from papertide.store.harvest import read_harvest_state, write_harvest_state

SOURCE = "oai"
PREFIXES = ("arXiv", "arXivRaw")


def state_key(set_spec: str | None, prefix: str) -> str:
    """Harvest state is kept per set and metadata prefix (``cs arXiv``, ``* arXivRaw``)."""
    return f"{set_spec or '*'} {prefix}"


def read_resume_date(engine: Engine, set_spec: str | None, prefix: str) -> dt.date | None:
    """Where the next harvest of this set and prefix starts, or None before the first success."""
    state = read_harvest_state(engine, SOURCE, state_key(set_spec, prefix))
    if not state or not state.get("next_from"):
        return None
    return dt.date.fromisoformat(state["next_from"])


class OaiSource:
    """One ``ListRecords`` harvest, from a date (or the saved state) up to an optional date."""

    name = SOURCE

    def __init__(
        self,
        client: PoliteClient,
        base_url: str,
        *,
        set_spec: str | None,
        prefix: str = "arXiv",
        from_date: dt.date | None = None,
        until: dt.date | None = None,
    ) -> None:
        if prefix not in PREFIXES:
            raise ValueError(f"metadata prefix must be one of {', '.join(PREFIXES)}, not {prefix!r}")
        self.client = client
        self.base_url = base_url
        self.set_spec = set_spec
        self.prefix = prefix
        self.from_date = from_date
        self.until = until
        self.response_date: dt.date | None = None

    def _first_request(self) -> dict[str, str | int]:
        params: dict[str, str | int] = {"verb": "ListRecords", "metadataPrefix": self.prefix}
        if self.set_spec:
            params["set"] = self.set_spec
        if self.from_date:
            params["from"] = self.from_date.isoformat()
        if self.until:
            params["until"] = self.until.isoformat()
        return params

    def read(self) -> Iterator[Item]:
        """Every record of the harvest, page by page along the resumption tokens."""
        params = self._first_request()
        seen_tokens: set[str] = set()
        while True:
            fetched = self.client.fetch(self.base_url, params)
            page: OaiPage = parse_list_records(fetched.content, f"{self.name} {fetched.url}", self.prefix)
            if self.response_date is None:
                self.response_date = page.response_date
            yield from page.items
            if not page.token:
                return
            if page.token in seen_tokens:
                raise FetchError(f"{self.name}: {fetched.url}: the server repeated resumption token {page.token!r}")
            seen_tokens.add(page.token)
            params = {"verb": "ListRecords", "resumptionToken": page.token}

    def finish(self, engine: Engine, report: IngestReport, now: dt.datetime) -> None:
        """Advance the saved start of the next harvest, never past a gap and never backwards.

        A run that began after the saved date (an explicit later ``--from``) leaves a gap
        before it, so the state stays; so does a run that covered only older dates.
        """
        key = state_key(self.set_spec, self.prefix)
        saved = read_resume_date(engine, self.set_spec, self.prefix)
        reached = self.response_date or now.date()
        if self.until is not None:
            reached = min(reached, self.until)
        if saved is not None and self.from_date is not None and self.from_date > saved:
            return
        if saved is not None and reached <= saved:
            return
        value = {
            "next_from": reached.isoformat(),
            "set": self.set_spec,
            "prefix": self.prefix,
            "last_run": {"from": self.from_date.isoformat() if self.from_date else None, "records": report.fetched},
        }
        with begin_write(engine) as conn:
            write_harvest_state(conn, SOURCE, key, value, now)
