"""Synthetic papers and vectors for bench/search.py, stored through papertide's own write paths.

Words are drawn from the vocabulary of the bundled sample corpus with their real frequencies,
so term statistics (a few very common words, a long tail) look like arXiv text: titles of
6-16 words, abstracts of 120-260 words (about 190 on average, like arXiv abstracts). Vectors
are 384-d, clustered around 2,000 centres and normalised, generated with numpy.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import re
from collections.abc import Callable, Iterator

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine

from papertide.domain.models import Paper
from papertide.ingest.sample import open_sample
from papertide.search.semantic.passages import PASSAGE_SCHEME
from papertide.search.semantic.vectors import VectorSpace, fetch_papers_to_embed, write_vectors
from papertide.store.engine import begin_write
from papertide.store.papers import upsert_papers

CATEGORIES = ["cs.LG", "cs.AI", "cs.CL", "cs.CV", "stat.ML", "math.OC", "math.PR", "math.DS", "quant-ph", "hep-th"]
CATEGORIES += ["hep-ph", "astro-ph.CO", "cond-mat.stat-mech", "q-bio.NC", "eess.SY", "econ.EM", "nlin.CD", "cs.RO"]
FIRST_NAMES = ["Ada", "Alan", "Grace", "Emmy", "Wei", "Yuki", "Priya", "Omar", "Lena", "Jose", "Mei", "Ivan", "Sara"]
# Categories are drawn with Zipf-like weights (1 / rank^1.2), skewed as on arXiv: cs.LG on 59 % of
# the papers (a broad filter), cs.RO on 2 % (a narrow one); see bench/search.py FILTERS.
CATEGORY_WEIGHTS = [1 / (rank**1.2) for rank in range(1, len(CATEGORIES) + 1)]
BATCH = 5000
DIM = 384


class Vocabulary:
    """Words of the sample corpus with their frequencies, for sampling text."""

    def __init__(self) -> None:
        counts: collections.Counter[str] = collections.Counter()
        with open_sample() as lines:
            for line in lines:
                record = json.loads(line)
                counts.update(re.findall(r"[A-Za-z][A-Za-z\-]+", f"{record['title']} {record['abstract']}".lower()))
        words, frequencies = zip(*counts.most_common(), strict=True)
        self.words = np.array(words, dtype=object)
        probabilities = np.array(frequencies, dtype=np.float64)
        self.probabilities = probabilities / probabilities.sum()
        self.surnames = [word.capitalize() for word in words[200:3200]]

    def texts(self, rng: np.random.Generator, count: int, shortest: int, longest: int) -> list[str]:
        """``count`` texts of ``shortest`` to ``longest`` words."""
        lengths = rng.integers(shortest, longest + 1, count)
        drawn = self.words[rng.choice(len(self.words), size=int(lengths.sum()), p=self.probabilities)]
        texts, position = [], 0
        for length in lengths:
            texts.append(" ".join(drawn[position : position + length]))
            position += length
        return texts

    def queries(self, rng: np.random.Generator, count: int) -> list[str]:
        """Queries of 2-3 informative words (not among the 50 most frequent, within the 3,000 most)."""
        return [" ".join(rng.choice(self.words[50:3000], size=int(rng.integers(2, 4)))) for _ in range(count)]


def generate_papers(vocabulary: Vocabulary, count: int, seed: int = 11) -> Iterator[list[Paper]]:
    """Batches of synthetic papers with unique ids, authors, categories and dates."""
    rng = np.random.default_rng(seed)
    weights = np.array(CATEGORY_WEIGHTS) / sum(CATEGORY_WEIGHTS)
    start = dt.date(2015, 1, 1)
    for offset in range(0, count, BATCH):
        size = min(BATCH, count - offset)
        titles = vocabulary.texts(rng, size, 6, 16)
        abstracts = vocabulary.texts(rng, size, 120, 260)
        batch = []
        for index in range(size):
            number = offset + index
            people = tuple(
                f"{FIRST_NAMES[int(rng.integers(len(FIRST_NAMES)))]} "
                f"{vocabulary.surnames[int(rng.integers(len(vocabulary.surnames)))]}"
                for _ in range(int(rng.integers(1, 6)))
            )
            drawn = rng.choice(len(CATEGORIES), size=2, p=weights)
            categories = tuple(dict.fromkeys(CATEGORIES[int(i)] for i in drawn))
            batch.append(
                Paper(
                    arxiv_id=f"b{number // 100_000:02d}.{number % 100_000:05d}",
                    title=titles[index].capitalize(),
                    abstract=abstracts[index].capitalize() + ".",
                    authors=people,
                    categories=categories,
                    primary_category=categories[0],
                    published=start + dt.timedelta(days=int(rng.integers(0, 4000))),
                    external_upvotes=int(rng.poisson(0.5)),
                )
            )
        yield batch


def store_papers(engine: Engine, vocabulary: Vocabulary, count: int, on_batch: Callable[[int], None]) -> None:
    """Upsert the synthetic papers as ingestion does, one transaction per batch."""
    now = dt.datetime.now(dt.UTC)
    for batch in generate_papers(vocabulary, count):
        with begin_write(engine) as conn:
            upsert_papers(conn, batch, now)
        on_batch(len(batch))


def clustered_vectors(
    rng: np.random.Generator, centres: npt.NDArray[np.float32], count: int
) -> npt.NDArray[np.float32]:
    """Unit vectors scattered around randomly chosen centres."""
    chosen = centres[rng.integers(len(centres), size=count)]
    vectors = chosen + 0.6 * rng.standard_normal((count, centres.shape[1]), dtype=np.float32) / np.sqrt(DIM)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


def store_vectors(engine: Engine, model: str, on_batch: Callable[[int], None], seed: int = 5) -> VectorSpace:
    """A random clustered vector for every paper, written as the semantic indexer writes them."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((2000, DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    space = VectorSpace(model=model, dim=DIM, scheme=PASSAGE_SCHEME)
    now = dt.datetime.now(dt.UTC)
    cursor = 0
    while True:
        with engine.connect() as conn:
            papers = fetch_papers_to_embed(conn, space, cursor, BATCH)
        if not papers:
            return space
        vectors = clustered_vectors(rng, centres, len(papers))
        with begin_write(engine) as conn:
            write_vectors(conn, space, list(zip(papers, vectors, strict=True)), now)
        cursor = papers[-1].id
        on_batch(len(papers))
