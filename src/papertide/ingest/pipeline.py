"""Storing a stream of parsed records in batches: one transaction per batch, then indexing."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import Engine

from papertide.domain.errors import InvalidRecord
from papertide.domain.models import Paper
from papertide.ingest.report import IngestReport
from papertide.store.engine import begin_write
from papertide.store.papers import upsert_papers
from papertide.store.runs import finish_ingest_run, start_ingest_run

BATCH_SIZE = 1000

# Called with the ids of papers stored or changed by a batch, after it committed, so that
# indexes kept outside the database pick them up at once (search.indexer).
ChangeHook = Callable[[Sequence[int]], None]


def utc_now() -> dt.datetime:
    """The current time, timezone-aware."""
    return dt.datetime.now(dt.UTC)


def run_ingest(
    engine: Engine,
    source: str,
    records: Iterable[Paper | InvalidRecord],
    *,
    on_changed: ChangeHook | None = None,
    batch_size: int = BATCH_SIZE,
    clock: Callable[[], dt.datetime] = utc_now,
) -> IngestReport:
    """Store every valid record, report every invalid one, and record the run in the ledger.

    A batch lands in one transaction; a failure while reading the source (a truncated file,
    a broken feed) keeps the batches already stored and is reported as the run's failure.
    """
    report = IngestReport(source=source)
    started = time.perf_counter()
    run_id = start_ingest_run(engine, source, clock())
    batch: list[Paper] = []

    def flush() -> None:
        if not batch:
            return
        with begin_write(engine) as conn:
            result = upsert_papers(conn, batch, clock())
        report.add_upsert(result)
        if on_changed and result.changed_ids:
            on_changed(result.changed_ids)
        batch.clear()

    try:
        for item in records:
            report.fetched += 1
            if isinstance(item, InvalidRecord):
                report.skip(item)
                continue
            batch.append(item)
            if len(batch) >= batch_size:
                flush()
        flush()
    except InvalidRecord as error:
        flush()
        report.failure = str(error)
    except OSError as error:
        flush()
        report.failure = f"{source}: {error}"
    finally:
        report.seconds = time.perf_counter() - started
        finish_ingest_run(engine, run_id, report, clock())
    return report
