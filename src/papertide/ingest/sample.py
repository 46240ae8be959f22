"""The bundled sample corpus (papers from Hugging Face Daily Papers; see README: Sample corpus)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import json
from collections.abc import Iterable, Iterator
from importlib.resources import files
from typing import IO, cast

from papertide.domain.errors import InvalidRecord
from papertide.domain.models import Paper

SAMPLE_FILE = "sample_papers.jsonl.gz"


def sample_name() -> str:
    """How the sample is named in error locations."""
    return SAMPLE_FILE


def open_sample() -> IO[bytes]:
    """The sample's JSON lines, decompressed on the fly; the caller closes it."""
    resource = files("papertide.data").joinpath(SAMPLE_FILE)
    return cast(IO[bytes], gzip.open(str(resource), "rb"))


def newest_sample_listing() -> dt.date:
    """The newest listing day in the bundled sample (read from the file, so a rebuilt sample needs no edit)."""
    newest: dt.date | None = None
    with open_sample() as handle:
        for raw in handle:
            record = json.loads(raw)
            text = record.get("listed_on") or record.get("daily_date") or record.get("published")
            if text:
                day = dt.date.fromisoformat(text)
                newest = day if newest is None or day > newest else newest
    if newest is None:
        raise ValueError(f"{SAMPLE_FILE} has no listing dates")
    return newest


def shift_papers(papers: Iterable[Paper | InvalidRecord], days: int) -> Iterator[Paper | InvalidRecord]:
    """The sample's papers with their listing, publication and update dates moved by ``days``.

    Every date moves by the same amount, so the spacing between listings (and between a paper's
    publication and its listing) stays as recorded; ``papertide init --sample`` picks ``days`` so
    the newest listing day becomes today, and the demo's lists and digests are alive on any date.
    The arXiv ids are left alone (they name real papers), so an id's YYMM may no longer match
    its shifted publication month.
    """
    delta = dt.timedelta(days=days)
    for paper in papers:
        if days == 0 or isinstance(paper, InvalidRecord):
            yield paper
            continue
        yield dataclasses.replace(
            paper,
            listed_on=paper.listed_on + delta if paper.listed_on else None,
            published=paper.published + delta if paper.published else None,
            updated=paper.updated + delta if paper.updated else None,
        )
