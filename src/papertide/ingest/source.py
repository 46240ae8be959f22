"""What every source of papers looks like to the pipeline, the CLI and the scheduler.

A source turns one run's input into a stream of items: papers, the records that could not be
read (reported, never raised), external signals and deletions. Sources that keep state between runs
(OAI-PMH's last harvest date) save it in ``finish``, which the pipeline calls only after every
batch of a successful run is stored, so the state never gets ahead of the data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine

from papertide.domain.errors import InvalidRecord
from papertide.domain.models import Paper, Signal
from papertide.ingest.report import IngestReport


@dataclass(frozen=True, slots=True)
class Deletion:
    """A record the source reports as deleted (OAI-PMH ``status="deleted"``).

    Counted in the report; the stored paper, if any, is kept: votes and digests refer to it,
    and arXiv itself keeps withdrawn papers visible.
    """

    arxiv_id: str


Item = Paper | InvalidRecord | Signal | Deletion


class Source(Protocol):
    """One run's worth of a place papers come from."""

    @property
    def name(self) -> str:
        """Short name used in the ledger, logs and error locations (``arxiv-api``)."""
        ...

    def read(self) -> Iterator[Item]:
        """The run's items, fetched lazily; raises PapertideError when the source breaks off."""
        ...

    def finish(self, engine: Engine, report: IngestReport, now: dt.datetime) -> None:
        """Bookkeeping after a successful, fully stored run (harvest state); may do nothing."""
        ...
