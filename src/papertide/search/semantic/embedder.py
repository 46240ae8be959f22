"""Loading an embedding model with the chosen backend, and embedding papers with it.

The protocol, the model's source and its errors live in model.py; which backends this machine
runs, and which one embeds papers in bulk, in backends.py; this module loads a backend (onnx.py
or torch.py), which import model.py and never this module. Nothing here
downloads: ``HF_HUB_OFFLINE=1`` is set before sentence-transformers is imported.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from papertide.search.semantic.backends import Capabilities, describe_missing, fetch_capabilities
from papertide.search.semantic.model import BACKENDS, Embedder, ModelUnavailable, resolve_model
from papertide.search.semantic.onnx import load_onnx_embedder
from papertide.search.semantic.passages import Vectors, compose_passages, pool_passages
from papertide.search.semantic.torch import TorchEmbedder


def load_embedder(
    model: str, backend: str, cache_dir: Path, *, threads: int = 0, capabilities: Capabilities | None = None
) -> Embedder:
    """Load ``model`` with ``backend``; ONNX exports are cached under ``cache_dir``.

    :param capabilities: what this machine offers (read from it when None); a backend it cannot
        run natively is refused with the reason.
    """
    if backend not in BACKENDS:
        raise ModelUnavailable(f"unknown embedding backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    # Set before sentence-transformers or transformers is imported anywhere in the process.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    source = resolve_model(model)
    if backend in {"torch-bf16", "cuda-fp16"}:
        problem = describe_missing(backend, capabilities or fetch_capabilities())
        if problem is not None:
            raise ModelUnavailable(problem)
    if backend.startswith("onnx"):
        return load_onnx_embedder(source, cache_dir, quantized=backend == "onnx-int8", threads=threads)
    if backend == "cuda-fp16":
        return TorchEmbedder(source, precision="float16", device="cuda", threads=threads)
    precision = "bfloat16" if backend == "torch-bf16" else "float32"
    return TorchEmbedder(source, precision=precision, threads=threads)


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
