"""Storing a stream of parsed records in batches: one transaction per batch, then indexing."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import Engine

from papertide.domain.clock import Clock, utc_now
from papertide.domain.errors import InvalidInput, InvalidRecord, PapertideError
from papertide.domain.faults import reach_fault_point
from papertide.domain.limits import screen_signal
from papertide.domain.models import Paper, Signal
from papertide.ingest.http import Stopped
from papertide.ingest.owner import current_owner
from papertide.ingest.paper_fields import screen_paper_at
from papertide.ingest.readahead import read_ahead
from papertide.ingest.report import IngestReport
from papertide.ingest.source import Deletion, Item, Source
from papertide.store.authorship import catch_up_authorship
from papertide.store.engine import begin_write
from papertide.store.harvest import write_signals
from papertide.store.papers import upsert_papers
from papertide.store.runs import finish_ingest_run, start_ingest_run, write_heartbeat

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
# Author rows (store/authorship.py) are caught up after this many changed papers, in one transaction,
# and at the end of the run: their index is keyed by name, so a transaction writes back about one
# leaf page per row whatever its size, and a larger one lands several rows on each page it writes
# (issue 13: docs/ingest.md). Author pages lag the papers by at most this many during a long run.
AUTHORSHIP_EVERY = 20_000

# Called with the ids of papers stored or changed by a batch, after it committed, so that
# indexes kept outside the database pick them up at once (search.indexer).
ChangeHook = Callable[[Sequence[int]], None]


def run_ingest(
    engine: Engine,
    source: str,
    records: Iterable[Item],
    *,
    on_changed: ChangeHook | None = None,
    batch_size: int = BATCH_SIZE,
    clock: Clock = utc_now,
    should_stop: Callable[[], bool] | None = None,
    on_record: Callable[[int], None] | None = None,
) -> IngestReport:
    """Store every valid record, report every invalid one, and record the run in the ledger.

    A batch lands in one transaction, papers first and then the signals about them; a
    failure while reading the source (a truncated file, a broken feed, a refused request)
    keeps the batches already stored and is reported as the run's failure. The source is
    read a few hundred records ahead in a second thread (ingest/readahead.py).

    :param should_stop: checked after every record; when true the run stops as a failure.
    :param on_record: called with 1 for every record read, for progress bars.
    """
    report = IngestReport(source=source)
    started = time.perf_counter()
    run_id = start_ingest_run(engine, source, clock(), current_owner())
    batch: list[Paper] = []
    signals: list[Signal] = []
    authors_pending = 0

    def catch_up_authors() -> None:
        nonlocal authors_pending
        catch_up_authorship(engine, batch_size=AUTHORSHIP_EVERY)  # author pages (issue 11)
        authors_pending = 0

    def flush() -> None:
        nonlocal authors_pending
        if not batch and not signals:
            return
        with begin_write(engine) as conn:
            now = clock()
            result = upsert_papers(conn, batch, now)
            report.signals += write_signals(conn, signals, now)
            write_heartbeat(conn, run_id, now)
        reach_fault_point("after-batch-commit")
        report.add_upsert(result)
        batch.clear()
        signals.clear()
        authors_pending += len(result.changed_ids)
        if authors_pending >= AUTHORSHIP_EVERY:
            catch_up_authors()
        if on_changed and result.changed_ids:
            on_changed(result.changed_ids)

    try:
        for item in read_ahead(records):
            if isinstance(item, Paper):
                report.fetched += 1
                # Every source's papers pass the same limits (domain/limits.py): one hostile
                # record is reported, never the reason a batch is lost.
                try:
                    batch.append(screen_paper_at(item, f"{source} {item.arxiv_id[:64]!r}"))
                except InvalidRecord as problem:
                    report.skip(problem)
                if len(batch) >= batch_size:
                    flush()
            elif isinstance(item, InvalidRecord):
                report.fetched += 1
                report.skip(item)
            elif isinstance(item, Signal):
                try:
                    signals.append(screen_signal(item))
                except InvalidInput as error:
                    report.skip(InvalidRecord(f"{source} {item.arxiv_id[:64]!r}", f"signal: {error}"))
            elif isinstance(item, Deletion):
                report.fetched += 1
                report.deleted += 1
            if on_record is not None and not isinstance(item, Signal):
                on_record(1)
            if should_stop is not None and should_stop():
                raise Stopped(f"{source}: stopped before the end of the run")
        flush()
        catch_up_authors()
    except (PapertideError, OSError) as error:
        flush()
        catch_up_authors()
        report.failure = str(error) if isinstance(error, PapertideError) else f"{source}: {error}"
    except BaseException as error:
        report.failure = f"{source}: interrupted by {type(error).__name__}: {error}"
        raise
    finally:
        report.seconds = time.perf_counter() - started
        finish_ingest_run(engine, run_id, report, clock())
    return report


def run_source(
    engine: Engine,
    source: Source,
    *,
    on_changed: ChangeHook | None = None,
    batch_size: int = BATCH_SIZE,
    clock: Clock = utc_now,
    should_stop: Callable[[], bool] | None = None,
    on_record: Callable[[int], None] | None = None,
) -> IngestReport:
    """Ingest one run of a source, then let it save its state if the whole run was stored."""
    report = run_ingest(
        engine,
        source.name,
        source.read(),
        on_changed=on_changed,
        batch_size=batch_size,
        clock=clock,
        should_stop=should_stop,
        on_record=on_record,
    )
    if report.failure is None:
        source.finish(engine, report, clock())
    # DEBUG: the CLI prints the summary and the scheduler logs it as the job's result (once each).
    log.debug("%s", report.summary())
    return report
