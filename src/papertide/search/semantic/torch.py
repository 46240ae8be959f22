"""The sentence-transformers backend on torch, in float32 or under bfloat16 autocast."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from papertide.search.semantic.model import MAX_TOKENS, ModelSource, ModelUnavailable, Progress
from papertide.search.semantic.passages import Vectors, normalize_rows

log = logging.getLogger(__name__)

# Texts handed to one encode() call; sorting by length inside it keeps padding low.
GROUP_SIZE = 512


def load_sentence_transformer(source: ModelSource, **kwargs: Any) -> Any:
    """A SentenceTransformer on the CPU from local files only, or ModelUnavailable saying what is missing."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    # Their per-load progress bar and INFO lines would interleave with papertide's own bars.
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    logging.getLogger("sentence_transformers").setLevel(max(logging.WARNING, log.getEffectiveLevel()))
    try:
        model = SentenceTransformer(source.location, device="cpu", local_files_only=True, **kwargs)
    except (OSError, ValueError, RuntimeError) as error:
        raise ModelUnavailable(
            f"embedding model {source.name!r} could not be loaded from local files ({error}); give a folder "
            "path, or put the model in the Hugging Face cache first (papertide never downloads models)"
        ) from error
    model.eval()
    model.max_seq_length = min(MAX_TOKENS, model.max_seq_length or MAX_TOKENS)
    return model


def embedding_dimension(model: Any) -> int:
    """Width of the model's sentence vectors (the method was renamed in sentence-transformers 6)."""
    method = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(method())


class TorchEmbedder:
    """Embeds with ``SentenceTransformer.encode``; ``bf16`` runs it under ``torch.autocast``."""

    def __init__(self, source: ModelSource, *, bf16: bool = False, threads: int = 0) -> None:
        import torch

        if threads > 0:
            torch.set_num_threads(threads)
        self._torch = torch
        self.model = load_sentence_transformer(source)
        self.name = source.name
        self.backend = "torch-bf16" if bf16 else "torch"
        self.bf16 = bf16
        self.dim = embedding_dimension(self.model)
        self.max_tokens = int(self.model.max_seq_length)

    def _encode(self, texts: Sequence[str], batch_size: int) -> Vectors:
        torch = self._torch
        autocast = torch.autocast("cpu", dtype=torch.bfloat16) if self.bf16 else contextlib.nullcontext()
        with torch.inference_mode(), autocast:
            vectors = self.model.encode(
                list(texts),
                batch_size=batch_size,
                convert_to_numpy=True,
                normalize_embeddings=False,
                show_progress_bar=False,
            )
        return normalize_rows(np.asarray(vectors, dtype=np.float32))

    def embed_documents(
        self, texts: Sequence[str], batch_size: int = 32, on_progress: Progress | None = None
    ) -> Vectors:
        """One unit row per text (cut at ``max_tokens``), reporting progress per group of texts."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), GROUP_SIZE):
            group = texts[start : start + GROUP_SIZE]
            out[start : start + len(group)] = self._encode(group, batch_size)
            if on_progress:
                on_progress(len(group))
        return out

    def embed_query(self, text: str) -> Vectors:
        """The unit vector of one query."""
        vector: Vectors = self._encode([text], 1)[0]
        return vector

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts without special tokens or truncation."""
        if not texts:
            return []
        encoded = self.model.tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)
        return [len(ids) for ids in encoded["input_ids"]]
