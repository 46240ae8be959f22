"""``papertide eval``: retrieval quality of the real search pipeline on a BEIR-format dataset.

The corpus is ingested into a throwaway database through the same ingestion, indexing and
search code a server runs (search settings such as the model, backend and fusion weights are
taken from the configuration), then every judged query is searched and scored.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from papertide.cli.context import console, fail, invocation, stdout
from papertide.cli.output import print_json_line
from papertide.cli.progress import count_progress, file_progress
from papertide.domain.errors import InvalidQuery, PapertideError
from papertide.ingest.pipeline import run_ingest
from papertide.search.evaluate import (
    EvaluationReport,
    InvalidDataset,
    read_beir_corpus,
    read_qrels,
    read_queries,
    run_queries,
)
from papertide.search.query import SearchService
from papertide.search.request import Mode, SearchRequest
from papertide.services import Services
from papertide.store.migrate import upgrade_database
from papertide.store.schema import papers

# Enough results for Recall@100.
DEPTH = 100


def _searcher(service: SearchService, mode: Mode, keys: dict[int, str]) -> tuple[Callable[[str], list[str]], list[str]]:
    """A function from query text to ranked corpus ids, and the list collecting fallback notices."""
    notices: list[str] = []

    def search(text: str) -> list[str]:
        try:
            page = service.search(SearchRequest(text=text, mode=mode, per_page=DEPTH))
        except InvalidQuery:
            # A claim with a stray quote or colon is searched as plain words, as digests do.
            plain = " ".join(text.replace('"', " ").replace(":", " ").split())
            page = service.search(SearchRequest(text=plain, mode=mode, per_page=DEPTH))
        if page.mode != mode:
            notices.extend(page.notices or [f"{mode} search ran as {page.mode}"])
        return [keys[hit.paper_id] for hit in page.hits if hit.paper_id in keys]

    return search, notices


def _index(services: Services, corpus: Path, mode: Mode) -> float:
    started = time.perf_counter()
    with corpus.open("rb") as handle, file_progress("loading corpus", handle) as advance:
        report = run_ingest(services.engine, "beir", read_beir_corpus(handle, corpus.name, advance))
    console.print(report.summary())
    if report.failure:
        raise InvalidDataset(report.failure)
    indexer = services.indexer
    with count_progress("lexical index", report.new) as advance:
        indexer.catch_up_lexical(advance)
    if mode != "lexical":
        with count_progress("embeddings", report.new + report.updated) as advance:
            embedded, problem = indexer.catch_up_semantic(advance)
        if embedded is None:
            raise PapertideError(f"{mode} search cannot run: {problem}")
    return time.perf_counter() - started


def _print_table(report: EvaluationReport, mode: Mode, dataset: Path, qrels: Path, seconds: float) -> None:
    console.print(f"{dataset.name} ({qrels.name}): {report.queries} queries, mode {mode}")
    stdout.print(f"{'nDCG@10':>10} {'Recall@100':>11} {'MRR@10':>8}")
    stdout.print(f"{report.ndcg_at_10:>10.4f} {report.recall_at_100:>11.4f} {report.mrr_at_10:>8.4f}")
    console.print(
        f"indexing {seconds:.1f} s; query latency p50 {report.latency_ms(50):.1f} ms, "
        f"p95 {report.latency_ms(95):.1f} ms (in-process, page of {DEPTH})"
    )


def evaluate(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(metavar="DIRECTORY", help="BEIR dataset folder holding corpus.jsonl.")],
    queries: Annotated[
        Path | None, typer.Option("--queries", help="Queries JSONL file (default: DIRECTORY/queries.jsonl).")
    ] = None,
    qrels: Annotated[
        Path | None, typer.Option("--qrels", help="Relevance judgments TSV (default: DIRECTORY/qrels/test.tsv).")
    ] = None,
    mode: Annotated[Mode, typer.Option(help="hybrid (default), lexical or semantic.")] = "hybrid",
    as_json: Annotated[bool, typer.Option("--json", metavar="", help="Print the metrics as one JSON line.")] = False,
    workdir: Annotated[
        Path | None,
        typer.Option(help="Keep the evaluation database and indexes here and reuse them on the next run."),
    ] = None,
) -> None:
    """Measure nDCG@10, Recall@100 and MRR@10 of search on a BEIR-format dataset."""
    corpus = directory / "corpus.jsonl"
    queries_file = queries or directory / "queries.jsonl"
    qrels_file = qrels or directory / "qrels" / "test.tsv"
    if not corpus.is_file():
        raise fail(f"{corpus}: no such file (DIR must hold a BEIR corpus.jsonl)")
    try:
        judged = read_qrels(qrels_file)
        texts = read_queries(queries_file)
        with ExitStack() as stack:
            work = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="papertide-eval-")))
            work.mkdir(parents=True, exist_ok=True)
            database_url = f"sqlite:///{(work / 'papertide.db').as_posix()}"
            # The search settings of this configuration, over a database and indexes of its own.
            eval_settings = invocation(ctx).settings.model_copy(update={"data_dir": work, "database_url": database_url})
            services = Services(eval_settings)
            stack.callback(services.close)
            upgrade_database(services.engine)
            seconds = _index(services, corpus, mode)
            service = services.search
            with services.engine.connect() as conn:
                keys = {int(row.id): str(row.arxiv_id) for row in conn.execute(select(papers.c.id, papers.c.arxiv_id))}
            search, notices = _searcher(service, mode, keys)
            with count_progress("queries", len(judged)) as advance:
                report = run_queries(search, texts, judged, advance)
    except PapertideError as error:
        raise fail(str(error)) from None
    if notices:
        raise fail(f"{len(notices)} queries did not run as {mode}: {notices[0]}")
    if as_json:
        payload = {**report.metrics(), "queries": report.queries, "mode": mode}
        print_json_line(payload)
        return
    _print_table(report, mode, directory, qrels_file, seconds)
