"""One semantic searcher per process and configuration, shared by search and indexing.

The web app searches and, through its scheduler, ingests; `papertide ingest` indexes each
batch. Both ask for the searcher again and again, and must get the same one: loading the
model and the index once per process, not once per call.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Engine

from papertide.search.semantic.index import IndexConfig
from papertide.search.semantic.searcher import SemanticSearcher, open_semantic

# Kept for the life of the process: the indexer asks for the searcher on every ingest batch and
# must not reload the model each time.
_SHARED: dict[tuple[str, str, str, str], SemanticSearcher] = {}
_SHARED_LOCK = threading.Lock()


def shared_semantic(
    engine: Engine,
    index_dir: Path,
    *,
    model: str,
    backend: str,
    cache_dir: Path | None = None,
    batch_size: int = 32,
    threads: int = 0,
    index_config: IndexConfig | None = None,
) -> SemanticSearcher:
    """This process's searcher for a database, index folder, model and backend, opened on first use.

    Searching and indexing in one process (the web app and the jobs it schedules) then share
    one model and one index. It is opened with ``allow_mismatch``: call ``check()`` before
    relying on it for search.
    """
    key = (engine.url.render_as_string(hide_password=True), str(index_dir.resolve()), model, backend)
    with _SHARED_LOCK:
        searcher = _SHARED.get(key)
        if searcher is None:
            searcher = open_semantic(
                engine,
                index_dir,
                model=model,
                backend=backend,
                cache_dir=cache_dir,
                batch_size=batch_size,
                threads=threads,
                index_config=index_config,
                allow_mismatch=True,
            )
            _SHARED[key] = searcher
        return searcher
