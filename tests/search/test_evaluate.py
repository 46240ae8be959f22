"""Evaluation: metrics against pytrec_eval and hand-computed cases, BEIR parsing, and `papertide eval`."""

from __future__ import annotations

import io
import json
import math
import random
from pathlib import Path

import pytest
import pytrec_eval
from typer.testing import CliRunner

from papertide.cli import app
from papertide.domain.errors import InvalidRecord
from papertide.domain.models import Paper
from papertide.search.evaluate import (
    InvalidDataset,
    read_beir_corpus,
    read_qrels,
    read_queries,
    run_queries,
    score_ndcg,
    score_recall,
    score_reciprocal_rank,
    score_run,
)


def test_ndcg_of_a_hand_computed_ranking() -> None:
    # Relevant: a (grade 2), b (grade 1). Ranked: x, a, y, b.
    dcg = 2 / math.log2(3) + 1 / math.log2(5)
    ideal = 2 / math.log2(2) + 1 / math.log2(3)
    assert score_ndcg(["x", "a", "y", "b"], {"a": 2, "b": 1, "z": 0}, 10) == pytest.approx(dcg / ideal)
    assert score_ndcg(["a", "b"], {"a": 2, "b": 1}, 10) == pytest.approx(1.0)
    assert score_ndcg(["x", "y"], {"a": 1}, 10) == 0.0


def test_cutoffs_ignore_what_is_ranked_below_them() -> None:
    ranked = [f"d{i}" for i in range(20)]
    assert score_ndcg(ranked, {"d10": 1}, 10) == 0.0
    assert score_recall(ranked, {"d3": 1, "d15": 1}, 10) == 0.5
    assert score_reciprocal_rank(ranked, {"d3": 1, "d15": 1}, 10) == pytest.approx(1 / 4)
    assert score_reciprocal_rank(ranked, {"d15": 1}, 10) == 0.0


def test_queries_without_results_count_as_zero_and_unjudged_queries_do_not_count() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 0}}
    report = score_run({"q1": ["a"]}, qrels)
    assert report.queries == 2
    assert report.ndcg_at_10 == pytest.approx(0.5)
    assert report.recall_at_100 == pytest.approx(0.5)
    assert report.mrr_at_10 == pytest.approx(0.5)


def test_metrics_agree_with_pytrec_eval_on_random_runs() -> None:
    rng = random.Random(4)
    docs = [f"d{i}" for i in range(300)]
    qrels = {f"q{q}": {d: rng.choice([0, 1, 1, 2]) for d in rng.sample(docs, rng.randint(1, 8))} for q in range(60)}
    qrels = {q: rel for q, rel in qrels.items() if any(rel.values())}
    run = {q: rng.sample(docs, 150) for q in qrels}
    # Distinct descending scores so that pytrec_eval sees exactly our order.
    scored = {q: {d: float(len(ranked) - i) for i, d in enumerate(ranked)} for q, ranked in run.items()}
    top10 = {q: {d: float(10 - i) for i, d in enumerate(ranked[:10])} for q, ranked in run.items()}
    full = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.100"}).evaluate(scored)
    reciprocal = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)
    report = score_run(run, qrels)
    assert report.ndcg_at_10 == pytest.approx(sum(v["ndcg_cut_10"] for v in full.values()) / len(qrels))
    assert report.recall_at_100 == pytest.approx(sum(v["recall_100"] for v in full.values()) / len(qrels))
    assert report.mrr_at_10 == pytest.approx(sum(v["recip_rank"] for v in reciprocal.values()) / len(qrels))


def test_beir_corpus_lines_become_papers_and_bad_lines_are_located() -> None:
    data = b'{"_id": "7", "title": "T ", "text": "Body."}\nnot json\n{"title": "no id"}\n\n'
    items = list(read_beir_corpus(io.BytesIO(data), "corpus.jsonl"))
    assert items[0] == Paper(arxiv_id="7", title="T", abstract="Body.")
    assert isinstance(items[1], InvalidRecord) and items[1].location == "corpus.jsonl:2"
    assert isinstance(items[2], InvalidRecord) and "_id" in items[2].reason
    assert len(items) == 3


def test_qrels_read_beir_and_trec_layouts_and_name_the_bad_line(tmp_path: Path) -> None:
    beir = tmp_path / "beir.tsv"
    beir.write_text("query-id\tcorpus-id\tscore\n1\t10\t1\n1\t11\t2\n2\t12\t0\n", encoding="utf-8")
    assert read_qrels(beir) == {"1": {"10": 1, "11": 2}, "2": {"12": 0}}
    trec = tmp_path / "trec.txt"
    trec.write_text("1 0 10 1\n", encoding="utf-8")
    assert read_qrels(trec) == {"1": {"10": 1}}
    broken = tmp_path / "broken.tsv"
    broken.write_text("query-id\tcorpus-id\tscore\n1\t10\n", encoding="utf-8")
    with pytest.raises(InvalidDataset, match=r"broken\.tsv:2"):
        read_qrels(broken)
    with pytest.raises(InvalidDataset, match="no such file"):
        read_qrels(tmp_path / "missing.tsv")


def test_queries_file_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "queries.jsonl"
    path.write_text('{"_id": "1", "text": "a claim"}\n{"_id": "2"}\n', encoding="utf-8")
    with pytest.raises(InvalidDataset, match=r"queries\.jsonl:2"):
        read_queries(path)


def test_judged_queries_missing_from_the_queries_file_are_an_error() -> None:
    with pytest.raises(InvalidDataset, match="no text"):
        run_queries(lambda text: [], {"1": "x"}, {"1": {"a": 1}, "2": {"b": 1}})


@pytest.fixture(autouse=True)
def cli_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each CLI run reads its settings from this environment, with its own data directory."""
    monkeypatch.setenv("PAPERTIDE_DATA_DIR", str(tmp_path / "data"))


def write_dataset(root: Path) -> Path:
    """A tiny BEIR dataset whose answers are unambiguous for BM25 and for the embedding model."""
    docs = {
        "d1": ("Protein folding kinetics", "Chaperones speed up protein folding in the cell."),
        "d2": ("Galaxy rotation curves", "Dark matter halos explain flat rotation curves of spiral galaxies."),
        "d3": ("Graph neural networks", "Message passing networks learn representations of molecules."),
        "d4": ("Sleep and memory", "Slow-wave sleep consolidates declarative memory in adults."),
        "d5": ("Coral reef bleaching", "Rising ocean temperatures cause coral bleaching events."),
    }
    with (root / "corpus.jsonl").open("w", encoding="utf-8") as handle:
        for key, (title, text) in docs.items():
            handle.write(json.dumps({"_id": key, "title": title, "text": text}) + "\n")
    queries = {"q1": "chaperones and protein folding", "q2": "dark matter in spiral galaxies", "q3": "sleep memory"}
    with (root / "queries.jsonl").open("w", encoding="utf-8") as handle:
        for key, text in queries.items():
            handle.write(json.dumps({"_id": key, "text": text}) + "\n")
    (root / "qrels").mkdir()
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq3\td4\t1\n", encoding="utf-8"
    )
    return root


def test_eval_command_prints_the_three_metrics_as_json(tmp_path: Path) -> None:
    dataset = write_dataset(tmp_path)
    result = CliRunner().invoke(app, ["eval", str(dataset), "--mode", "lexical", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["ndcg@10"] == pytest.approx(1.0)
    assert payload["recall@100"] == pytest.approx(1.0)
    assert payload["mrr@10"] == pytest.approx(1.0)
    assert payload["queries"] == 3


def test_eval_command_names_a_missing_qrels_file(tmp_path: Path) -> None:
    dataset = write_dataset(tmp_path)
    result = CliRunner().invoke(app, ["eval", str(dataset), "--qrels", str(dataset / "qrels" / "dev.tsv")])
    assert result.exit_code == 1
    # Whitespace removed: rich folds a long path at 80 columns anywhere (its length depends on the machine).
    assert f"{dataset / 'qrels' / 'dev.tsv'}:nosuchfile" in "".join(result.output.split())


@pytest.mark.slow
def test_eval_command_runs_hybrid_search_with_the_embedding_model(tmp_path: Path, onnx_cache: Path) -> None:
    dataset = write_dataset(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    (work / "models").symlink_to(onnx_cache, target_is_directory=True)
    for mode in ("semantic", "hybrid"):
        result = CliRunner().invoke(app, ["eval", str(dataset), "--mode", mode, "--workdir", str(work), "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["ndcg@10"] == pytest.approx(1.0)
