"""Embed the bundled sample corpus and write src/papertide/data/sample_vectors.npz (output committed).

Runs the product's own path: the sample is ingested into a throwaway SQLite database exactly as
`papertide init --sample` does, embedded by the semantic searcher, and the stored vectors are
written out with the model, the passage scheme and each paper's text hash. Rerun it whenever
the sample, the default model or the passage scheme (search/semantic/passages.py) changes.

Usage: python scripts/make_sample_vectors.py [--model NAME] [--backend onnx] [--output PATH]
(about 4,000 papers: some minutes on two cores.)
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import select

from papertide.ingest.jsonl import read_jsonl_papers
from papertide.ingest.pipeline import run_ingest
from papertide.ingest.sample import open_sample, sample_name
from papertide.search.semantic.model import DEFAULT_MODEL
from papertide.search.semantic.passages import compose_text_hash
from papertide.search.semantic.sample import SAMPLE_VECTORS, PrecomputedVectors, write_precomputed
from papertide.search.semantic.searcher import open_semantic
from papertide.search.semantic.vectors import decode_vectors
from papertide.store.engine import make_engine
from papertide.store.migrate import upgrade_database
from papertide.store.schema import paper_vectors, papers

OUTPUT = Path(__file__).resolve().parent.parent / "src" / "papertide" / "data" / SAMPLE_VECTORS
console = Console(stderr=True)


def main(model: str, backend: str, output: Path, cache_dir: Path | None) -> None:
    with tempfile.TemporaryDirectory(prefix="papertide-sample-vectors-") as work:
        root = Path(work)
        engine = make_engine(f"sqlite:///{root / 'papertide.db'}")
        upgrade_database(engine)
        with open_sample() as handle:
            report = run_ingest(engine, "sample", read_jsonl_papers(handle, sample_name()))
        console.print(report.summary())
        searcher = open_semantic(
            engine, root / "vectors", model=model, backend=backend, cache_dir=cache_dir or root / "models"
        )
        columns = (TextColumn("embedding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("embedding", total=searcher.pending())
            searcher.sync(lambda count: progress.advance(task, count))
        statement = (
            select(papers.c.arxiv_id, papers.c.title, papers.c.abstract, paper_vectors.c.vector)
            .join(paper_vectors, paper_vectors.c.paper_id == papers.c.id)
            .order_by(papers.c.arxiv_id)
        )
        with engine.connect() as conn:
            rows = conn.execute(statement).all()
        engine.dispose()
    vectors = decode_vectors([row.vector for row in rows], searcher.space.dim)
    precomputed = PrecomputedVectors(
        space=searcher.space,
        keys=np.array([row.arxiv_id for row in rows]),
        hashes=np.array([compose_text_hash(row.title, row.abstract) for row in rows]),
        vectors=vectors.astype(np.float16),
    )
    write_precomputed(output, precomputed)
    console.print(f"{len(rows)} vectors of {searcher.space.describe()} written to {output}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--backend", default="onnx")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--cache-dir", type=Path, default=None, help="Reuse ONNX exports from this folder.")
    arguments = parser.parse_args()
    main(arguments.model, arguments.backend, arguments.output, arguments.cache_dir)
