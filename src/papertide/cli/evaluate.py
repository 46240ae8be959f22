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
from papertide.search.calibrate import Calibration, Observation, RankedDoc
from papertide.search.calibrate import calibrate_floor as calibrate_floor_of
from papertide.search.evaluate import (
    EvaluationReport,
    InvalidDataset,
    Qrels,
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


def _observe(
    service: SearchService, keys: dict[int, str], texts: dict[str, str], judged: Qrels, advance: Callable[[int], None]
) -> list[Observation]:
    """Each judged query searched once with no floor, and the similarity of each of its relevant documents."""
    ids = {key: paper_id for paper_id, key in keys.items()}
    semantic = service.semantic()
    observations: list[Observation] = []
    for query, relevance in judged.items():
        relevant = [ids[doc] for doc, grade in relevance.items() if grade > 0 and doc in ids]
        if not relevant or query not in texts:
            advance(1)
            continue
        text = " ".join(texts[query].replace('"', " ").replace(":", " ").split())
        page = service.search(SearchRequest(text=text, mode="hybrid", per_page=DEPTH))
        if page.mode != "hybrid":
            raise PapertideError(f"calibration needs semantic search: {'; '.join(page.notices)}")
        ranking = tuple(
            RankedDoc(keys[hit.paper_id], "lexical_rank" in hit.detail, hit.detail.get("semantic_score"))
            for hit in page.hits
            if hit.paper_id in keys
        )
        similarities = tuple(hit.score for hit in semantic.search(text, len(relevant), candidates=relevant))
        observations.append(Observation(ranking=ranking, relevance=relevance, relevant_similarities=similarities))
        advance(1)
    return observations


def _print_calibration(calibration: Calibration, qrels: Path, model: str) -> None:
    console.print(
        f"similarity floor calibration on {qrels.name}, model {model}: hybrid nDCG@10 without a floor "
        f"{calibration.baseline_ndcg:.4f}; chosen = the highest floor up to which nDCG@10 does not fall and the "
        f"floor removes at most {calibration.max_relevant_removed:.0%} of the relevant documents"
    )
    stdout.print(f"{'floor':>6} {'nDCG@10':>8} {'relevant below':>15} {'relevant removed':>17} {'results/query':>14}")
    for row in calibration.rows:
        mark = "  <- chosen" if row.floor == calibration.chosen else ""
        stdout.print(
            f"{row.floor:>6.2f} {row.ndcg_at_10:>8.4f} {row.relevant_below:>15.2%} {row.relevant_removed:>17.2%} "
            f"{row.kept_per_query:>14.1f}{mark}"
        )
    stdout.print(f"chosen similarity floor: {calibration.chosen:.2f} (PAPERTIDE_SEARCH_SIMILARITY_FLOOR)")


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
    calibrate_floor: Annotated[
        bool,
        typer.Option(
            "--calibrate-floor",
            help="Choose the similarity floor for the configured model from these (training!) judgments instead.",
        ),
    ] = False,
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
            update: dict[str, object] = {"data_dir": work, "database_url": database_url}
            if calibrate_floor:
                # Calibration watches what every floor would do to an unfloored run.
                mode, update["search_similarity_floor"] = "hybrid", -1.0
            eval_settings = invocation(ctx).settings.model_copy(update=update)
            services = Services(eval_settings)
            stack.callback(services.close)
            upgrade_database(services.engine)
            seconds = _index(services, corpus, mode)
            service = services.search
            with services.engine.connect() as conn:
                keys = {int(row.id): str(row.arxiv_id) for row in conn.execute(select(papers.c.id, papers.c.arxiv_id))}
            if calibrate_floor:
                with count_progress("queries", len(judged)) as advance:
                    calibration = calibrate_floor_of(_observe(service, keys, texts, judged, advance))
                _print_calibration(calibration, qrels_file, eval_settings.embedding_model)
                return
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
