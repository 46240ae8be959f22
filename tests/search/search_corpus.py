"""A small themed corpus with categories, authors and dates; helpers to store papers; a fake semantic searcher."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import ClassVar

from sqlalchemy import Engine, select

from papertide.domain.models import Hit, Paper, UpsertReport
from papertide.search.lexical.index import LexicalIndex
from papertide.search.ranked import Ranked
from papertide.search.semantic.index import IndexConfig
from papertide.search.semantic.searcher import SemanticSearcher, open_semantic
from papertide.store.engine import begin_write
from papertide.store.papers import upsert_papers
from papertide.store.schema import papers
from tests.search.hashing_embedder import HashingEmbedder

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)

THEMED = [
    Paper(
        arxiv_id="2501.00001",
        title="Neural ordinary differential equations for chaotic dynamics",
        abstract="We learn vector fields of chaotic systems such as the Lorenz attractor with neural networks.",
        authors=("Ada Lovelace", "Alan Turing"),
        categories=("cs.LG", "math.DS"),
        primary_category="cs.LG",
        published=dt.date(2025, 1, 10),
        external_upvotes=5,
    ),
    Paper(
        arxiv_id="2502.00002",
        title="A survey of reinforcement learning",
        abstract="Agents learn policies from rewards. We review methods, including models of chaotic dynamics.",
        authors=("Richard Sutton",),
        categories=("cs.AI",),
        primary_category="cs.AI",
        published=dt.date(2025, 2, 20),
        external_upvotes=50,
    ),
    Paper(
        arxiv_id="2503.00003",
        title="Theory of mind in large language models",
        abstract="Do language models track beliefs of others? We test theory of mind with false-belief tasks.",
        authors=("Grace Hopper", "An Wang"),
        categories=("cs.CL", "cs.AI"),
        primary_category="cs.CL",
        published=dt.date(2025, 3, 30),
        external_upvotes=20,
    ),
    Paper(
        arxiv_id="2504.00004",
        title="Protein folding with attention",
        abstract="Attention over residue pairs predicts structures. The mind of the model is not theory.",
        authors=("Rosalind Franklin",),
        categories=("q-bio.BM",),
        primary_category="q-bio.BM",
        published=dt.date(2024, 4, 1),
        external_upvotes=1,
    ),
    Paper(
        arxiv_id="2505.00005",
        title="Stochastic gradient descent on manifolds",
        abstract="Optimisation on Riemannian manifolds converges under curvature bounds. Schrödinger bridges too.",
        authors=("Emmy Noether", "Ada Lovelace"),
        categories=("math.OC", "stat.ML"),
        primary_category="math.OC",
        published=dt.date(2025, 5, 5),
    ),
]


def store(engine: Engine, *batch: Paper) -> UpsertReport:
    """Upsert papers as ingestion does (one transaction, new seqs)."""
    with begin_write(engine) as conn:
        return upsert_papers(conn, list(batch), NOW)


def paper_ids(engine: Engine) -> dict[str, int]:
    """arXiv id -> internal id of every stored paper."""
    with engine.connect() as conn:
        return {row.arxiv_id: row.id for row in conn.execute(select(papers.c.arxiv_id, papers.c.id))}


def revised(paper: Paper, **changes: object) -> Paper:
    """A newer version of a paper with some fields changed."""
    return dataclasses.replace(paper, version=paper.version + 1, **changes)  # type: ignore[arg-type]


class FakeSemantic:
    """A deterministic stand-in for search/semantic/searcher.py's SemanticSearcher: the same methods, no model.

    Meaning is faked by concept groups: a query and a paper are similar when they share a concept,
    even with no word in common (e.g. "turbulence" ~ "chaotic"), which is what hybrid search must add.
    """

    CONCEPTS: ClassVar[dict[str, set[str]]] = {
        "chaos": {"chaotic", "chaos", "turbulence", "lorenz", "attractor", "dynamics"},
        "mind": {"mind", "beliefs", "belief", "cognition", "mental"},
        "biology": {"protein", "folding", "residue", "enzyme"},
        "optimisation": {"gradient", "optimisation", "optimization", "manifolds", "descent"},
    }

    def __init__(self, texts: dict[int, str], missing: Collection[int] = ()) -> None:
        self.texts = {pid: text for pid, text in texts.items() if pid not in missing}
        self.calls: list[tuple[str, int, list[int] | None]] = []

    def _concepts(self, text: str) -> set[str]:
        words = {w.strip(".,?!:").lower() for w in text.split()}
        return {name for name, members in self.CONCEPTS.items() if words & members}

    def _score(self, query: str, paper_id: int) -> float:
        mine, theirs = self._concepts(query), self._concepts(self.texts[paper_id])
        if not mine or not theirs:
            return 0.0
        return len(mine & theirs) / len(mine | theirs)

    def search(self, query: str, k: int, candidates: Collection[int] | None = None) -> list[Hit]:
        self.calls.append((query, k, sorted(candidates) if candidates is not None else None))
        pool = [pid for pid in self.texts if candidates is None or pid in candidates]
        scored = sorted(((self._score(query, pid), pid) for pid in pool), key=lambda p: (-p[0], p[1]))
        return [Hit(paper_id=pid, score=score) for score, pid in scored if score > 0][:k]

    def rank(self, query: str, k: int, candidates: Collection[int] | None = None) -> Ranked:
        return Ranked.from_pairs((hit.paper_id, hit.score) for hit in self.search(query, k, candidates))

    def similar(self, paper_id: int, k: int) -> list[Hit]:
        if paper_id not in self.texts:
            return []
        hits = self.search(self.texts[paper_id], k + 1)
        return [hit for hit in hits if hit.paper_id != paper_id][:k]

    def index_papers(self, paper_ids: Sequence[int], on_progress: object = None) -> int:
        return len(paper_ids)

    def sync(self, on_progress: object = None) -> int:
        return 0

    def rebuild(self, on_progress: object = None) -> int:
        return len(self.texts)


def texts_of(engine: Engine) -> dict[int, str]:
    """id -> title and abstract of every stored paper (what FakeSemantic embeds)."""
    with engine.connect() as conn:
        rows = conn.execute(select(papers.c.id, papers.c.title, papers.c.abstract))
        return {row.id: f"{row.title} {row.abstract}" for row in rows}


def open_hashed_stores(
    engine: Engine, folder: Path, *, index_config: IndexConfig | None = None, vectors: str = "vectors"
) -> tuple[LexicalIndex, SemanticSearcher]:
    """The lexical index and a semantic searcher over ``engine``'s papers, embedded by the hashing embedder and synced.

    ``index_config``: the vector index (exact by default); ``vectors``: the snapshot folder's name under ``folder``.
    """
    lexical = LexicalIndex(engine, folder / "lexical")
    lexical.open()
    semantic = open_semantic(
        engine,
        folder / vectors,
        model="test/hashing",
        backend="test",
        embedder=HashingEmbedder(),
        index_config=index_config or IndexConfig(kind="exact"),
    )
    semantic.sync()  # embeds every paper and writes the snapshot (publication days included)
    return lexical, semantic
