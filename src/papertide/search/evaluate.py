"""Retrieval quality on BEIR-format data: reading the files, running queries, scoring the rankings.

The metrics follow trec_eval, as pytrec_eval computes them (tests/search/test_evaluate.py
checks them against it): nDCG@k with linear gains and a log2 discount, against the ideal
ordering of every judged document; Recall@k over all relevant documents; MRR@k, the
reciprocal rank of the first relevant document in the top k. Queries count when the qrels
judge at least one document relevant; one the system returns nothing for scores 0.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from papertide.domain.errors import InvalidRecord, PapertideError
from papertide.domain.models import Paper

Qrels = dict[str, dict[str, int]]
Progress = Callable[[int], None]


class InvalidDataset(PapertideError):
    """A BEIR file that cannot be read; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class EvaluationReport:
    """Mean metrics over the judged queries, and how long the queries took."""

    queries: int
    ndcg_at_10: float
    recall_at_100: float
    mrr_at_10: float
    latencies_ms: tuple[float, ...] = field(default=(), repr=False)

    def latency_ms(self, percentile: float) -> float:
        """A percentile (0-100) of the per-query latency in milliseconds."""
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(percentile / 100 * (len(ordered) - 1)))]

    def metrics(self) -> dict[str, float]:
        """The three metrics under the keys the issue fixes (``--json``)."""
        return {"ndcg@10": self.ndcg_at_10, "recall@100": self.recall_at_100, "mrr@10": self.mrr_at_10}


# --- reading ---------------------------------------------------------------------------------


def read_beir_corpus(
    handle: IO[bytes], location: str, on_bytes: Progress | None = None
) -> Iterator[Paper | InvalidRecord]:
    """Papers from a BEIR ``corpus.jsonl``: ``_id`` becomes the paper's key, ``text`` its abstract."""
    for number, raw in enumerate(handle, start=1):
        if on_bytes:
            on_bytes(len(raw))
        if not raw.strip():
            continue
        where = f"{location}:{number}"
        try:
            record = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            yield InvalidRecord(where, f"not valid JSON ({error})")
            continue
        if not isinstance(record, dict) or not str(record.get("_id", "")).strip():
            yield InvalidRecord(where, "missing field _id")
            continue
        title, text = record.get("title") or "", record.get("text") or ""
        if not isinstance(title, str) or not isinstance(text, str):
            yield InvalidRecord(where, "fields title and text must be strings")
            continue
        yield Paper(arxiv_id=str(record["_id"]).strip(), title=title.strip(), abstract=text.strip())


def read_queries(path: Path) -> dict[str, str]:
    """Query id -> text from a BEIR ``queries.jsonl``."""
    queries: dict[str, str] = {}
    for number, raw in enumerate(_read_lines(path), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
            queries[str(record["_id"])] = str(record["text"])
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise InvalidDataset(f"{path}:{number}: expected a JSON object with _id and text ({error})") from None
    return queries


def read_qrels(path: Path) -> Qrels:
    """Relevance judgments from a BEIR qrels TSV (``query-id corpus-id score``, header optional)
    or a TREC qrels file (``query-id 0 corpus-id score``)."""
    qrels: Qrels = {}
    for number, raw in enumerate(_read_lines(path), start=1):
        parts = raw.split()
        if not parts or (number == 1 and not parts[-1].lstrip("-").isdigit()):
            continue
        if len(parts) not in (3, 4) or not parts[-1].lstrip("-").isdigit():
            raise InvalidDataset(f"{path}:{number}: expected 'query-id corpus-id score', got {raw.strip()!r}")
        query, doc, score = parts[0], parts[-2], int(parts[-1])
        qrels.setdefault(query, {})[doc] = score
    return qrels


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InvalidDataset(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidDataset(f"{path}: cannot be read ({error})") from None


# --- scoring ---------------------------------------------------------------------------------


def score_ndcg(ranked: Sequence[str], relevance: Mapping[str, int], k: int) -> float:
    """nDCG@k with linear gains, as trec_eval's ``ndcg_cut``."""
    gains = sorted((max(0, grade) for grade in relevance.values()), reverse=True)[:k]
    ideal = sum(gain / math.log2(rank + 2) for rank, gain in enumerate(gains))
    if ideal <= 0:
        return 0.0
    actual = sum(max(0, relevance.get(doc, 0)) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]))
    return actual / ideal


def score_recall(ranked: Sequence[str], relevance: Mapping[str, int], k: int) -> float:
    """Share of the relevant documents found in the top k."""
    relevant = {doc for doc, grade in relevance.items() if grade > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def score_reciprocal_rank(ranked: Sequence[str], relevance: Mapping[str, int], k: int) -> float:
    """1 / rank of the first relevant document within the top k, else 0."""
    for rank, doc in enumerate(ranked[:k], start=1):
        if relevance.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def score_run(run: Mapping[str, Sequence[str]], qrels: Qrels, latencies_ms: Sequence[float] = ()) -> EvaluationReport:
    """Mean metrics of ranked document ids per query over the queries judged relevant somewhere."""
    judged = [query for query, relevance in qrels.items() if any(grade > 0 for grade in relevance.values())]
    if not judged:
        return EvaluationReport(queries=0, ndcg_at_10=0.0, recall_at_100=0.0, mrr_at_10=0.0)
    totals = [0.0, 0.0, 0.0]
    for query in judged:
        ranked, relevance = run.get(query, ()), qrels[query]
        totals[0] += score_ndcg(ranked, relevance, 10)
        totals[1] += score_recall(ranked, relevance, 100)
        totals[2] += score_reciprocal_rank(ranked, relevance, 10)
    count = len(judged)
    return EvaluationReport(
        queries=count,
        ndcg_at_10=totals[0] / count,
        recall_at_100=totals[1] / count,
        mrr_at_10=totals[2] / count,
        latencies_ms=tuple(latencies_ms),
    )


def run_queries(
    search: Callable[[str], list[str]],
    queries: Mapping[str, str],
    qrels: Qrels,
    on_progress: Progress | None = None,
) -> EvaluationReport:
    """Run every judged query through ``search`` (text -> ranked document ids) and score the run."""
    missing = sorted(query for query in qrels if query not in queries)
    if missing:
        raise InvalidDataset(f"{len(missing)} judged queries have no text in the queries file, e.g. {missing[0]!r}")
    run: dict[str, list[str]] = {}
    latencies: list[float] = []
    for query in qrels:
        started = time.perf_counter()
        run[query] = search(queries[query])
        latencies.append((time.perf_counter() - started) * 1000)
        if on_progress:
            on_progress(1)
    return score_run(run, qrels, latencies)
