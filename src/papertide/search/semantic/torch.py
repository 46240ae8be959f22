"""The sentence-transformers backend on torch: float32, bfloat16 autocast on the CPU, float16 autocast on a GPU.

Autocast keeps layer norms, softmax and the pooling in float32 and runs the matrix products in
the lower precision, which is what makes bfloat16 on CPUs with AVX-512 BF16 or AMX about 1.4
times faster than float32 (search/semantic/bulk.py holds the measured quality).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from papertide.search.semantic.batching import length_batches
from papertide.search.semantic.model import MAX_TOKENS, ModelSource, ModelUnavailable, Progress
from papertide.search.semantic.passages import Vectors, normalize_rows

log = logging.getLogger(__name__)

# A GPU is fed far larger batches than a CPU: per call its cost is the Python and tokenizer
# overhead, not the arithmetic (an H200 did 2,514 abstracts/s at batch 1024, ../shared/BASELINES.md).
GPU_BATCH_SIZE = 512


def load_sentence_transformer(source: ModelSource, device: str = "cpu", **kwargs: Any) -> Any:
    """A SentenceTransformer on ``device`` from local files only, or ModelUnavailable saying what is missing."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    # Their per-load progress bar and INFO lines would interleave with papertide's own bars.
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    logging.getLogger("sentence_transformers").setLevel(max(logging.WARNING, log.getEffectiveLevel()))
    try:
        model = SentenceTransformer(source.location, device=device, local_files_only=True, **kwargs)
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
    """Embeds with ``SentenceTransformer.encode``, under autocast when ``precision`` is not float32.

    :param precision: ``float32``, ``bfloat16`` (CPU autocast) or ``float16`` (CUDA autocast).
    :param device: ``cpu`` or ``cuda``.
    """

    def __init__(
        self, source: ModelSource, *, precision: str = "float32", device: str = "cpu", threads: int = 0
    ) -> None:
        import torch

        if threads > 0:
            torch.set_num_threads(threads)
        self._torch = torch
        self.model = load_sentence_transformer(source, device=device)
        self.name = source.name
        self.backend = {"float32": "torch", "bfloat16": "torch-bf16", "float16": "cuda-fp16"}[precision]
        self.precision = precision
        self.device = device
        self.dim = embedding_dimension(self.model)
        self.max_tokens = int(self.model.max_seq_length)

    def _encode(self, texts: Sequence[str], batch_size: int) -> Vectors:
        torch = self._torch
        autocast: Any = contextlib.nullcontext()
        if self.precision != "float32":
            autocast = torch.autocast(self.device, dtype=getattr(torch, self.precision))
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
        """One unit row per text (cut at ``max_tokens``), in input order; batches of similar length pad little."""
        if self.device != "cpu":
            batch_size = max(batch_size, GPU_BATCH_SIZE)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        lengths = [min(count, self.max_tokens) for count in self.count_tokens(texts)]
        for rows in length_batches(lengths, batch_size):
            out[rows] = self._encode([texts[i] for i in rows], len(rows))
            if on_progress:
                on_progress(len(rows))
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
