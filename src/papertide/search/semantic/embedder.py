"""Loading an embedding model with the chosen CPU backend, and embedding papers with it.

The protocol, the model's source and its errors live in model.py; this module picks a
backend (onnx.py or torch.py), which import model.py and never this module. Nothing here
downloads: ``HF_HUB_OFFLINE=1`` is set before sentence-transformers is imported.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from papertide.search.semantic.model import BACKENDS, Embedder, ModelUnavailable, resolve_model
from papertide.search.semantic.onnx import load_onnx_embedder
from papertide.search.semantic.passages import Vectors, compose_passages, pool_passages
from papertide.search.semantic.torch import TorchEmbedder


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
        return load_onnx_embedder(source, cache_dir, quantized=backend == "onnx-int8", threads=threads)
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
