"""The data of bench/digest.py: a fortnight of papers, their search indexes, and N subscribers due now.

Papers are bench/search_corpus.py's synthetic ones (words of the bundled sample with their real
frequencies), listed over the 14 days before NOW, one in ten upvoted with a heavy tail. Their
vectors are random and clustered like bench/search.py's (embedding 3,000 abstracts would cost
a minute and measure the model, not the digest); the topics are embedded by the real model.
Subscribers follow a realistic mix: no topics, arXiv categories, authors, free-text topics, or
several kinds at once; free-text topics come from a catalogue of phrases drawn with a Zipf law,
so popular topics are shared by many people and a long tail is followed by one or two.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import os
import random
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from bench.search_corpus import CATEGORIES, Vocabulary, generate_papers, store_vectors
from papertide.config import Settings
from papertide.search.semantic.model import resolve_model
from papertide.services import Services
from papertide.store.engine import begin_write
from papertide.store.migrate import upgrade_database
from papertide.store.papers import upsert_papers
from papertide.store.schema import subscribers

NOW = dt.datetime(2026, 8, 21, 23, 30, tzinfo=dt.UTC)
SECRET = "bench-secret-key-not-for-production-0123456789"
ZONES = [
    "UTC",
    "Europe/Paris",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Australia/Sydney",
    "America/Sao_Paulo",
    "Africa/Nairobi",
]
# Distinct free-text topics anyone may type; who follows which is drawn with a Zipf law (s = 1).
TOPIC_CATALOGUE = 3000


ZIPF = list(itertools.accumulate(1 / rank for rank in range(1, TOPIC_CATALOGUE + 1)))


def bench_settings(folder: Path, **overrides: Any) -> Settings:
    """Settings of a papertide whose data directory is ``folder`` (the embedding model cached across runs)."""
    return Settings(data_dir=folder, secret_key=SECRET, base_url="https://papers.example.org", **overrides)


def build_papers(vocabulary: Vocabulary, count: int, rng: random.Random) -> list[Any]:
    """``count`` papers listed over the 14 days before NOW."""
    papers = [paper for batch in generate_papers(vocabulary, count) for paper in batch]
    listed = []
    for paper in papers:
        day = (NOW - dt.timedelta(days=rng.uniform(0, 14))).date()
        upvotes = int(rng.paretovariate(1.2)) if rng.random() < 0.1 else 0
        listed.append(dataclasses.replace(paper, published=day, listed_on=day, external_upvotes=upvotes))
    return listed


def topic_phrases(vocabulary: Vocabulary) -> list[str]:
    """The catalogue of free-text topics, most popular first."""
    phrases = list(dict.fromkeys(vocabulary.queries(np.random.default_rng(17), 2 * TOPIC_CATALOGUE)))
    return phrases[:TOPIC_CATALOGUE]


def pick_topics(rng: random.Random, phrases: list[str], authors: list[str]) -> dict[str, list[str]]:
    """One subscriber's topics: 40 % none, then categories, authors, free text, or a mix."""
    kind = rng.random()
    topics: dict[str, list[str]] = {"categories": [], "authors": [], "topics": []}
    if kind < 0.4:
        return topics
    if kind < 0.65 or kind >= 0.9:
        topics["categories"] = rng.sample(CATEGORIES, rng.randint(1, 3))
    if 0.65 <= kind < 0.75 or kind >= 0.95:
        topics["authors"] = rng.sample(authors, rng.randint(1, 2))
    if kind >= 0.75:
        # Zipf: the phrase of rank r is followed about 1/r as often as the most popular one.
        chosen = rng.choices(phrases, cum_weights=ZIPF, k=rng.randint(1, 3))
        topics["topics"] = list(dict.fromkeys(chosen))
    return topics


def store_subscribers(settings: Settings, count: int, rng: random.Random, authors: list[str]) -> None:
    """``count`` confirmed subscribers whose delivery hour came up to ten hours before NOW, in one transaction."""
    phrases = topic_phrases(Vocabulary())
    rows: list[dict[str, Any]] = []
    hours = {zone: NOW.astimezone(ZoneInfo(zone)).hour for zone in ZONES}
    created = NOW - dt.timedelta(days=30)
    for number in range(count):
        zone = rng.choice(ZONES)
        rows.append(
            {
                "email": f"reader{number:06d}@example.org",
                "status": "confirmed",
                "frequency": "daily",
                "hour": (hours[zone] - rng.randint(0, 10)) % 24,
                "timezone": zone,
                "size": rng.choice([5, 10, 10, 10, 15, 20, 30]),
                "topics": pick_topics(rng, phrases, authors),
                "created_at": created,
                "confirmed_at": created,
                "bounce_count": 0,
            }
        )
    services = Services(settings)
    with begin_write(services.engine) as conn:
        conn.execute(subscribers.insert(), rows)
    services.engine.dispose()


def build_corpus(
    folder: Path, subscriber_count: int, paper_count: int, seed: int, models: Path, database_url: str = ""
) -> None:
    """The whole data directory: database, lexical index, vector index, subscribers (run in a child process).

    :param database_url: a PostgreSQL database to build in; empty for the data directory's SQLite file.
    """
    folder.mkdir(parents=True, exist_ok=True)
    models.mkdir(parents=True, exist_ok=True)
    os.symlink(models, folder / "models")  # the locally exported ONNX model is kept across runs
    settings = bench_settings(folder, **({"database_url": database_url} if database_url else {}))
    services = Services(settings)
    upgrade_database(services.engine)
    rng = random.Random(seed)
    vocabulary = Vocabulary()
    papers = build_papers(vocabulary, paper_count, rng)
    with begin_write(services.engine) as conn:
        upsert_papers(conn, papers, NOW)
    store_vectors(services.engine, resolve_model(settings.embedding_model).name, lambda n: None)
    services.indexer.catch_up_lexical()
    embedded, problem = services.indexer.catch_up_semantic()
    if embedded is None:
        raise SystemExit(f"the vector index could not be built: {problem}")
    services.engine.dispose()
    authors = sorted({name for paper in papers for name in paper.authors})
    store_subscribers(settings, subscriber_count, rng, authors)
