"""Length-sorted batching: less padding, and every vector back at its text's position (issue 13)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from papertide.search.semantic.batching import count_padding, length_batches
from papertide.search.semantic.embedder import load_embedder
from papertide.search.semantic.model import DEFAULT_MODEL, Embedder

# Texts of very different lengths, in an order that mixes them.
TEXTS = [
    "Protein folding. " * 40,
    "graphs",
    "Recurrent networks learn the chaotic dynamics of the Lorenz attractor from short trajectories.",
    "Coral reefs bleach in warm water. " * 12,
    "",
    "A survey of reinforcement learning, with many algorithms and benchmarks. " * 6,
    "ODE",
    "Diffusion models generate images by reversing a noising process step by step.",
]


def test_batches_hold_each_position_once_shortest_first() -> None:
    lengths = [50, 3, 20, 7, 3, 90]
    batches = list(length_batches(lengths, 2))
    assert batches == [[1, 4], [3, 2], [0, 5]]
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))


def test_sorted_batches_pad_less_than_batches_in_input_order() -> None:
    lengths = [256, 12, 200, 30, 180, 8, 240, 25]
    in_order = [list(range(start, start + 2)) for start in range(0, len(lengths), 2)]
    sorted_batches = list(length_batches(lengths, 2))
    assert count_padding(lengths, sorted_batches) < count_padding(lengths, in_order) / 5


def test_a_batch_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        list(length_batches([1], 0))


@pytest.fixture(scope="module")
def torch_embedder(onnx_cache: Path) -> Embedder:
    return load_embedder(DEFAULT_MODEL, "torch", onnx_cache, threads=2)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_length_sorted_batches_return_each_vector_at_its_texts_position(
    backend: str, onnx_embedder: Embedder, torch_embedder: Embedder
) -> None:
    embedder = onnx_embedder if backend == "onnx" else torch_embedder
    seen: list[int] = []
    together = embedder.embed_documents(TEXTS, batch_size=3, on_progress=seen.append)
    alone = np.stack([embedder.embed_documents([text])[0] for text in TEXTS])
    assert seen == [3, 3, 2]
    # Each row matches its own text embedded alone (padding changes only rounding) ...
    assert np.min(np.sum(together * alone, axis=1)) > 0.9999
    # ... and no other text's vector.
    similarity = together @ alone.T
    assert (np.argmax(similarity, axis=1) == np.arange(len(TEXTS))).all()
