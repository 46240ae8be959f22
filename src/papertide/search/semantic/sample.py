"""Precomputed vectors of the bundled sample corpus, so `papertide init --sample` needs no embedding run.

The file ``papertide/data/sample_vectors.npz`` holds, per sample paper, its arXiv id, the hash
of the text the vector was computed from, and the vector as float16 (half the size; cosine to
the float32 vector above 0.99999). It records the model and passage scheme; vectors are used
only when those match the configuration and the stored paper's text still hashes the same, so
a stale file can never put a wrong vector in place (those papers are embedded as usual).
``scripts/make_sample_vectors.py`` regenerates it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np
import numpy.typing as npt

from papertide.search.semantic.passages import Vectors, normalize_rows
from papertide.search.semantic.searcher import SemanticSearcher
from papertide.search.semantic.vectors import VectorSpace, fetch_papers_by_key, write_vectors
from papertide.store.engine import begin_write

SAMPLE_VECTORS = "sample_vectors.npz"
BATCH = 1000


@dataclass(frozen=True, slots=True)
class PrecomputedVectors:
    """Vectors keyed by arXiv id, with the hash of the text each was computed from."""

    space: VectorSpace
    keys: npt.NDArray[np.str_]
    hashes: npt.NDArray[np.str_]
    vectors: npt.NDArray[np.float16]


def read_precomputed(path: Path) -> PrecomputedVectors:
    """Load a precomputed-vectors file."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        return PrecomputedVectors(
            space=VectorSpace(model=meta["model"], dim=int(meta["dim"]), scheme=meta["scheme"]),
            keys=data["keys"],
            hashes=data["hashes"],
            vectors=data["vectors"],
        )


def write_precomputed(path: Path, precomputed: PrecomputedVectors) -> None:
    """Save vectors in the format ``read_precomputed`` reads (compressed numpy arrays)."""
    space = precomputed.space
    meta = json.dumps({"model": space.model, "dim": space.dim, "scheme": space.scheme})
    np.savez_compressed(
        path,
        meta=np.array(meta),
        keys=precomputed.keys,
        hashes=precomputed.hashes,
        vectors=precomputed.vectors.astype(np.float16),
    )


def sample_vectors_file() -> Path | None:
    """The bundled file, or None when this installation has none."""
    resource = files("papertide.data").joinpath(SAMPLE_VECTORS)
    return Path(str(resource)) if resource.is_file() else None


def import_precomputed(searcher: SemanticSearcher, precomputed: PrecomputedVectors) -> int:
    """Store the precomputed vectors of papers whose text is unchanged (in the searcher's database); returns how many.

    Nothing is imported when the file's model or passage scheme differs from the searcher's.
    """
    space = precomputed.space
    if searcher.mismatch is not None or space.model != searcher.model_name or not searcher.space.accepts(space):
        return 0
    imported = 0
    for start in range(0, len(precomputed.keys), BATCH):
        keys = [str(key) for key in precomputed.keys[start : start + BATCH]]
        vectors: Vectors = normalize_rows(precomputed.vectors[start : start + BATCH])
        with searcher.engine.connect() as conn:
            found = fetch_papers_by_key(conn, keys)
        items = [
            (found[key], vectors[offset])
            for offset, key in enumerate(keys)
            if key in found
            and found[key].text_hash == str(precomputed.hashes[start + offset])
            and not found[key].is_current(space)
        ]
        with begin_write(searcher.engine) as conn:
            imported += write_vectors(conn, space, items, dt.datetime.now(dt.UTC))
    searcher.refresh()
    searcher.save()
    return imported
