"""The lexical index: BM25 over title and abstract (title boosted) and authors with tantivy, beside the database.

Consistency with the database (issue 4): every commit of the index carries, in a bookkeeping
document, the last ``papers.seq`` it applied, the analyzer configuration and the identity of
the database it mirrors. ``sync`` applies the rows above that seq; an index that is missing,
unreadable, built with another configuration or from another database, ahead of the database
or holding a different number of papers is rebuilt from the database, never used stale.
tantivy commits are atomic, so a crash at any moment leaves the last commit, which the next
``sync`` continues from.

Several processes may share the directory (web workers, ``papertide ingest``): tantivy lets
one writer in at a time; readers see each commit after ``reload``.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import tantivy
from sqlalchemy import Engine

from papertide.domain.errors import PapertideError
from papertide.search.changes import (
    PaperText,
    fetch_database_id,
    fetch_max_seq,
    fetch_paper_count,
    fetch_pending_count,
    iter_changed_papers,
)
from papertide.search.lexical.analyzer import (
    FIELD_META,
    FIELD_META_JSON,
    FIELD_PAPER_ID,
    SCHEMA_VERSION,
    build_schema,
    compose_document,
    compose_meta_document,
    configuration_fingerprint,
    register_analyzers,
)
from papertide.search.lexical.read import LexicalReader
from papertide.search.lexical.writer import IndexLocked, directory_lock, open_writer
from papertide.store.engine import single_statement_reads

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
META_KEY = "state"
# A sync commits every this many papers, so a long catch-up that is interrupted resumes.
SYNC_COMMIT_EVERY = 50_000
PROGRESS_STEP = 1000
BULK_SYNC_PAPERS = 5000
# The most changed papers a request applies itself; a larger backlog is the maintenance loop's.
REQUEST_SYNC_PAPERS = 1000
WRITER_WAIT_SECONDS = 60.0


def directory_for(data_dir: Path) -> Path:
    """Where the lexical index lives under the data directory (one folder per schema version)."""
    return data_dir / "search" / f"lexical-v{SCHEMA_VERSION}"


class LexicalIndex(LexicalReader):
    """A tantivy index of the papers table of ``engine``, kept in step with it by the change sequence."""

    def __init__(self, engine: Engine, path: Path, *, writer_heap_bytes: int = 200_000_000):
        self.engine = engine
        # The freshness check on every request: one statement, no transaction (store/engine.py).
        self._probe = single_statement_reads(engine)
        self.path = path
        self.schema = build_schema()
        self.writer_heap_bytes = writer_heap_bytes
        self._index: tantivy.Index | None = None
        self._searcher: tantivy.Searcher | None = None
        self._seq = -1
        self._database_id = ""
        self._opened = False
        self._lock = threading.RLock()
        # Papers this object has written into the index since it was created (for reports).
        self.written = 0
        # Counts the commits this process has loaded: answers derived from the index (search/allowed.py)
        # are kept only while it stays the same.
        self.generation = 0

    # --- opening ----------------------------------------------------------------------------

    def open(self, on_progress: Progress | None = None) -> str | None:
        """Open the index, building, rebuilding or catching it up as needed; returns why it was (re)built.

        Processes opening the same directory take turns (a lock file beside it), so web workers
        starting together on a missing index build it once instead of removing each other's work.
        """
        with self._lock, directory_lock(self.path):
            problem = self._open(on_progress)
            self._opened = True
            return problem

    def _open(self, on_progress: Progress | None) -> str | None:
        with self._lock:
            self._database_id = fetch_database_id(self.engine)
            with self.engine.connect() as conn:
                db_seq = fetch_max_seq(conn)
            problem = self._open_existing(db_seq)
            if problem is not None and self._index is None:
                # Missing or unreadable: start from nothing. The catch-up below commits as it goes,
                # so an interrupted first build resumes where it stopped.
                self._create_empty()
                self.sync(on_progress)
                return problem
            if problem is None:
                self.sync(on_progress)
                with self.engine.connect() as conn:
                    stored = fetch_paper_count(conn)
                if stored == self.paper_count:
                    return None
                problem = f"holds {self.paper_count} papers where the database has {stored}"
            log.warning("lexical index %s %s; rebuilding it from the database", self.path, problem)
            self.rebuild(on_progress)
            return problem

    def inspect(self) -> tuple[str | None, int, int]:
        """Without building or changing anything: what is wrong with the index on disk (None: nothing),
        the last ``papers.seq`` it applied and the database's (``papertide doctor``)."""
        with self._lock:
            self._database_id = fetch_database_id(self.engine)
            with self.engine.connect() as conn:
                db_seq = fetch_max_seq(conn)
            problem = self._open_existing(db_seq)
            return problem, self._seq, db_seq

    def ensure_open(self, on_progress: Progress | None = None) -> str | None:
        """``open`` unless this object already did; returns why the index was (re)built, if it was."""
        if self._opened:
            return None
        with self._lock:
            if self._opened:
                return None
            return self.open(on_progress)

    def _open_existing(self, db_seq: int) -> str | None:
        """Open what is on disk; None when it is usable, else what is wrong with it."""
        if not (self.path / "meta.json").exists():
            return "does not exist yet"
        try:
            index = tantivy.Index.open(str(self.path))
            register_analyzers(index)
            index.config_reader(reload_policy="manual")
            self._index = index
            meta = self._read_meta()
        except (ValueError, OSError) as error:
            self._index = None
            return f"cannot be read ({error})"
        if meta is None:
            return "has no bookkeeping record"
        if meta.get("configuration") != configuration_fingerprint():
            return "was built with another analyzer configuration"
        if meta.get("database_id") != self._database_id:
            return "was built from another database"
        if int(meta.get("seq", -1)) > db_seq:
            return f"is ahead of the database (seq {meta.get('seq')} > {db_seq}; restored from a backup?)"
        return None

    def _create_empty(self) -> None:
        if self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True)
        index = tantivy.Index(self.schema, path=str(self.path), reuse=False)
        register_analyzers(index)
        index.config_reader(reload_policy="manual")
        self._index = index
        self._seq = -1
        self._searcher = None

    def _require(self) -> tantivy.Index:
        if self._index is None:
            raise PapertideError(f"the lexical index at {self.path} is not open")
        return self._index

    # --- bookkeeping ------------------------------------------------------------------------

    def _read_meta(self) -> dict[str, Any] | None:
        index = self._require()
        index.reload()
        searcher = index.searcher()
        found = searcher.search(tantivy.Query.term_query(self.schema, FIELD_META, META_KEY), 1, count=False).hits
        self._searcher = searcher
        self.generation += 1
        if not found:
            self._seq = -1
            return None
        meta: dict[str, Any] = json.loads(searcher.doc(found[0][1]).get_first(FIELD_META_JSON) or "{}")
        self._seq = int(meta.get("seq", -1))
        return meta

    @property
    def database_id(self) -> str:
        """The id of the database the index was opened against ("" before ``open``)."""
        return self._database_id

    @property
    def applied_seq(self) -> int:
        """The last change sequence number the index has applied (-1 before the first build)."""
        return self._seq

    @property
    def paper_count(self) -> int:
        """Papers in the index (the bookkeeping document not counted)."""
        searcher = self.searcher()
        return max(0, searcher.num_docs - (1 if self._seq >= 0 else 0))

    def searcher(self) -> tantivy.Searcher:
        """A searcher over the last commit this process has loaded."""
        searcher = self._searcher
        if searcher is None:
            searcher = self._require().searcher()
            self._searcher = searcher
        return searcher

    # --- writing ----------------------------------------------------------------------------

    def _add(self, writer: tantivy.IndexWriter, paper: PaperText) -> None:
        self.written += 1
        # Delete-then-add replaces an earlier version; tantivy applies the delete only to
        # documents added before it, so the new one survives.
        writer.delete_documents_by_term(FIELD_PAPER_ID, paper.id)
        writer.add_document(compose_document(paper))

    def _commit(self, writer: tantivy.IndexWriter, seq: int) -> None:
        writer.delete_documents_by_term(FIELD_META, META_KEY)
        writer.add_document(compose_meta_document(META_KEY, seq, self._database_id))
        writer.commit()

    def _reload(self) -> None:
        self._read_meta()

    def sync(self, on_progress: Progress | None = None, *, wait_seconds: float | None = None) -> int:
        """Apply every paper changed since the last commit; returns how many were applied.

        :param wait_seconds: how long to wait for another process's writer; 0 returns at once
            (that process is bringing the index up to date itself).
        """
        with self._lock:
            self._reload()
            with self.engine.connect() as conn:
                target = fetch_max_seq(conn)
                if target <= self._seq:
                    return 0
                # An ingest batch gets a small writer; a first build or a long catch-up a big one.
                bulk = fetch_pending_count(conn, self._seq) > BULK_SYNC_PAPERS
            wait = WRITER_WAIT_SECONDS if wait_seconds is None else wait_seconds
            heap, threads = (self.writer_heap_bytes, 2) if bulk else (50_000_000, 1)
            try:
                with open_writer(self._require(), self.path, wait, heap_bytes=heap, threads=threads) as writer:
                    self._reload()  # another process may have committed while we waited
                    applied = self._apply(writer, iter_changed_papers(self.engine, self._seq), target, on_progress)
            except IndexLocked:
                if wait_seconds == 0:
                    return 0
                raise
            self._reload()
            return applied

    def _apply(
        self, writer: tantivy.IndexWriter, papers: Iterable[PaperText], target: int, on_progress: Progress | None
    ) -> int:
        applied = 0
        last_seq = self._seq
        for paper in papers:
            self._add(writer, paper)
            applied += 1
            last_seq = paper.seq
            if applied % SYNC_COMMIT_EVERY == 0:
                self._commit(writer, last_seq)
            if on_progress is not None and applied % PROGRESS_STEP == 0:
                on_progress(PROGRESS_STEP)
        # Every row up to ``target`` was committed before we read (writers commit in seq order),
        # so the commit may record ``target`` even when the last rows were changed again since.
        self._commit(writer, max(last_seq, target))
        if on_progress is not None and applied % PROGRESS_STEP:
            on_progress(applied % PROGRESS_STEP)
        return applied

    def rebuild(self, on_progress: Progress | None = None) -> int:
        """Index every paper again from the database in one commit; readers see the old index until then."""
        with self._lock:
            before = self.written
            if self._index is None and self.open(on_progress) is not None:
                return self.written - before  # opening it built it just now
            with self.engine.connect() as conn:
                target = fetch_max_seq(conn)
            with open_writer(
                self._require(), self.path, WRITER_WAIT_SECONDS, heap_bytes=self.writer_heap_bytes, threads=2
            ) as writer:
                writer.delete_all_documents()
                count = 0
                last_seq = 0
                for paper in iter_changed_papers(self.engine, 0):
                    self._add(writer, paper)
                    count += 1
                    last_seq = paper.seq
                    if on_progress is not None and count % PROGRESS_STEP == 0:
                        on_progress(PROGRESS_STEP)
                self._commit(writer, max(last_seq, target))
            if on_progress is not None and count % PROGRESS_STEP:
                on_progress(count % PROGRESS_STEP)
            self._reload()
            # Rows changed while we streamed (their new seq is above the commit's) are applied now.
            self.sync()
            return self.written - before

    def refresh(self) -> int:
        """Before a query: load newer commits and apply a few newer rows, without waiting for a busy writer.

        A request never applies more than ``REQUEST_SYNC_PAPERS`` rows nor rebuilds: a large
        backlog (a bulk load, a migration) is left to ``catch_up`` in the host's maintenance
        loop (search/maintenance.py), and the request searches the last commit meanwhile (issue 14).
        Returns the highest ``papers.seq`` the check read (search/changed_since.py: whether any
        paper changed since a snapshot).
        """
        with self._probe.connect() as conn:
            target = fetch_max_seq(conn)
        if target == self._seq:
            return target
        with self._lock:
            self._reload()
            if target <= self._seq:
                return target
            with self.engine.connect() as conn:
                backlog = target - self._seq > REQUEST_SYNC_PAPERS and (
                    fetch_pending_count(conn, self._seq) > REQUEST_SYNC_PAPERS
                )
            if not backlog:
                self.sync(wait_seconds=0)
        return target

    def catch_up(self) -> bool:
        """The maintenance loop's step: apply every newer row, or rebuild an index ahead of the database.

        Returns whether anything was written; a busy writer (another process syncing) is not waited for.
        """
        if not self._opened:
            return False
        with self.engine.connect() as conn:
            target = fetch_max_seq(conn)
        with self._lock:
            self._reload()
            if target > self._seq:
                return self.sync(wait_seconds=0) > 0
            if target < self._seq:
                log.warning("lexical index %s is ahead of the database; rebuilding it", self.path)
                self.rebuild()
                return True
            return False

    def pending(self) -> int:
        """How many papers changed since the last commit (the total of a progress bar)."""
        with self.engine.connect() as conn:
            return fetch_pending_count(conn, self._seq)
