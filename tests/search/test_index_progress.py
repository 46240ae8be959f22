"""`papertide index` shows how fast papers are embedded and when it will be done (issue 13)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from papertide.cli.progress import format_done, format_rate
from papertide.search.semantic.writing import PAPERS_PER_BATCH
from papertide.store.engine import make_engine
from papertide.store.migrate import upgrade_database
from tests.cli_runner import run_papertide
from tests.search.search_corpus import THEMED, store


def test_a_progress_line_gives_the_rate_and_the_time_left_at_that_rate() -> None:
    assert (
        format_rate("embeddings", 256, 1280, 20.0, "papers")
        == "embeddings: 256/1280 papers, 12.8 papers/s, ETA 0:01:20"
    )
    assert format_rate("embeddings", 256, None, 20.0, "papers") == "embeddings: 256 papers, 12.8 papers/s"
    assert format_done("embeddings", 1280, 100.0, "papers") == "embeddings: 1280 papers in 0:01:40, 12.8 papers/s"


@pytest.mark.slow
def test_index_prints_papers_per_second_and_an_eta_while_embedding(tmp_path: Path, onnx_cache: Path) -> None:
    data_dir = tmp_path / "data"
    engine = make_engine(f"sqlite:///{data_dir / 'papertide.db'}")
    upgrade_database(engine)
    # More papers than one embedding batch, so the first progress line comes with work still ahead.
    total = PAPERS_PER_BATCH + 20
    copies = [
        dataclasses.replace(
            THEMED[i % len(THEMED)], arxiv_id=f"2601.{i:05d}", title=f"{THEMED[i % len(THEMED)].title} {i}"
        )
        for i in range(total)
    ]
    store(engine, *copies)
    engine.dispose()
    # The session's ONNX export, instead of exporting the model again into this data directory.
    (data_dir / "models").symlink_to(onnx_cache, target_is_directory=True)

    result = run_papertide(data_dir, "index", PAPERTIDE_EMBEDDING_BULK_BACKEND="onnx", PAPERTIDE_EMBEDDING_THREADS="2")

    assert result.exit_code == 0, result.output
    first = re.search(
        rf"embeddings \(onnx\): {PAPERS_PER_BATCH}/{total} papers, ([\d.]+) papers/s, ETA (\d+:\d\d:\d\d)",
        result.stderr,
    )
    assert first is not None, result.stderr
    assert float(first.group(1)) > 0
    closing = re.search(rf"embeddings \(onnx\): {total} papers in \d+:\d\d:\d\d, ([\d.]+) papers/s", result.stderr)
    assert closing is not None, result.stderr
    assert f"embedded: {total}" in result.stderr
