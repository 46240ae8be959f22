"""Embedding backends: the bundled model offline, ONNX equal to sentence-transformers, the 256-token window."""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from papertide.search.semantic.backends import cpu_has_bf16, fetch_cpu_flags, parse_cpu_flags
from papertide.search.semantic.embedder import embed_papers, load_embedder
from papertide.search.semantic.model import DEFAULT_MODEL, Embedder, ModelUnavailable, resolve_model
from papertide.search.semantic.onnx import write_onnx_export

LONG_ABSTRACT = " ".join(
    f"Sentence {i} describes how recurrent networks model chaotic dynamics and turbulent flows." for i in range(40)
)


def test_the_default_model_resolves_to_the_bundled_package() -> None:
    source = resolve_model("all-MiniLM-L6-v2")
    assert source.bundled and source.name == DEFAULT_MODEL
    assert (Path(source.location) / "model.safetensors").is_file()
    assert resolve_model(DEFAULT_MODEL) == source


def test_cpu_flags_are_read_from_cpuinfo() -> None:
    text = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16\n\nprocessor\t: 1\nflags\t\t: fpu\n"
    assert parse_cpu_flags(text) == {"fpu", "avx2", "avx512f", "avx512_bf16"}
    assert cpu_has_bf16({"amx_bf16"}) and cpu_has_bf16({"avx512_bf16"}) and not cpu_has_bf16({"avx2"})


def test_bf16_is_refused_on_a_cpu_without_bf16_instructions(tmp_path: Path) -> None:
    if cpu_has_bf16(fetch_cpu_flags()):
        pytest.skip("this CPU has bfloat16 instructions")
    with pytest.raises(ModelUnavailable, match="AVX-512 BF16"):
        load_embedder(DEFAULT_MODEL, "torch-bf16", tmp_path)


def test_an_unknown_backend_is_named() -> None:
    with pytest.raises(ModelUnavailable, match="unknown embedding backend 'gpu'"):
        load_embedder(DEFAULT_MODEL, "gpu", Path("."))


@pytest.mark.slow
def test_a_model_that_is_not_local_is_reported_not_downloaded(tmp_path: Path) -> None:
    for backend in ("torch", "onnx"):
        with pytest.raises(ModelUnavailable, match="never downloads"):
            load_embedder("papertide-tests/no-such-model", backend, tmp_path)
    assert os.environ["HF_HUB_OFFLINE"] == "1"


@pytest.fixture(scope="module")
def torch_embedder(onnx_cache: Path) -> Embedder:
    return load_embedder(DEFAULT_MODEL, "torch", onnx_cache, threads=2)


@pytest.mark.slow
def test_onnx_gives_the_vectors_of_sentence_transformers(onnx_embedder: Embedder, torch_embedder: Embedder) -> None:
    texts = ["chaotic dynamics", "Protein folding with attention. " * 3, LONG_ABSTRACT]
    agreement = np.sum(onnx_embedder.embed_documents(texts) * torch_embedder.embed_documents(texts), axis=1)
    assert agreement.min() > 0.9999
    assert float(onnx_embedder.embed_query("neural ODEs") @ torch_embedder.embed_query("neural ODEs")) > 0.9999
    assert onnx_embedder.count_tokens(texts) == torch_embedder.count_tokens(texts)


@pytest.mark.slow
def test_vectors_are_unit_length_float32(onnx_embedder: Embedder) -> None:
    vectors = onnx_embedder.embed_documents(["a", "b c", ""], batch_size=2)
    assert vectors.dtype == np.float32 and vectors.shape == (3, onnx_embedder.dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert onnx_embedder.embed_query("x").shape == (onnx_embedder.dim,)


@pytest.mark.slow
def test_texts_are_read_up_to_256_tokens_not_the_bundled_128(onnx_embedder: Embedder) -> None:
    words = LONG_ABSTRACT.split()
    assert onnx_embedder.count_tokens([LONG_ABSTRACT])[0] > 512

    def first_tokens(count: int) -> str:
        # Grow a prefix word by word until it holds ``count`` tokens.
        kept = 0
        while onnx_embedder.count_tokens([" ".join(words[: kept + 1])])[0] <= count:
            kept += 1
        return " ".join(words[:kept])

    full, at_128, at_254 = onnx_embedder.embed_documents([LONG_ABSTRACT, first_tokens(128), first_tokens(254)])
    assert float(full @ at_254) > 0.9999
    assert float(full @ at_128) < 0.9999


@pytest.mark.slow
def test_the_onnx_export_is_made_once_and_reused(onnx_embedder: Embedder, onnx_cache: Path) -> None:
    exports = sorted(p for p in onnx_cache.iterdir() if not p.name.startswith("."))
    assert len(exports) == 1 and (exports[0] / "model.onnx").is_file()
    made = (exports[0] / "model.onnx").stat().st_mtime_ns
    again = load_embedder(DEFAULT_MODEL, "onnx", onnx_cache)
    assert (exports[0] / "model.onnx").stat().st_mtime_ns == made
    assert float(again.embed_query("graph networks") @ onnx_embedder.embed_query("graph networks")) > 0.99999


@pytest.mark.slow
def test_int8_vectors_are_close_to_float32_but_not_equal(onnx_embedder: Embedder, onnx_cache: Path) -> None:
    quantized = load_embedder(DEFAULT_MODEL, "onnx-int8", onnx_cache, threads=2)
    texts = ["graph neural networks for molecules", LONG_ABSTRACT]
    agreement = np.sum(quantized.embed_documents(texts) * onnx_embedder.embed_documents(texts), axis=1)
    assert 0.97 < agreement.min() < 0.99999


@pytest.mark.slow
def test_a_long_abstract_is_embedded_as_passages_covering_its_end(onnx_embedder: Embedder) -> None:
    ending = " The final sentence is about coral reef bleaching in warm oceans."
    with_end, without_end = embed_papers(
        onnx_embedder, [("Recurrent networks", LONG_ABSTRACT + ending), ("Recurrent networks", LONG_ABSTRACT)]
    )
    np.testing.assert_allclose(np.linalg.norm(with_end), 1.0, rtol=1e-5)
    reef = onnx_embedder.embed_query("coral reef bleaching")
    # Cut at 256 tokens both would be identical; passages let the last sentence count.
    assert float(with_end @ reef) > float(without_end @ reef)


@pytest.mark.slow
def test_the_onnx_export_says_it_started_and_how_long_it_took(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="papertide.search.semantic.onnx")
    load_embedder(DEFAULT_MODEL, "onnx", tmp_path / "models", threads=2)
    messages = [record.getMessage() for record in caplog.records]
    assert any(message.startswith("exporting the embedding model") for message in messages), messages
    assert any(re.search(r"ONNX export of .+ done in \d+ s", message) for message in messages), messages


@pytest.mark.slow
def test_quantising_writes_only_a_staged_file_of_its_own(model_cache: Path, tmp_path: Path) -> None:
    cache = tmp_path / "models"
    shutil.copytree(model_cache, cache)
    [made] = list(cache.rglob("model-int8.onnx"))
    made.unlink()
    # What another process quantising into the same cache at this moment would be writing.
    theirs = made.parent / "model-int8.partial"
    theirs.write_bytes(b"another process's half-written model")

    export = write_onnx_export(resolve_model(DEFAULT_MODEL), cache, quantized=True)

    assert export.model_file(quantized=True).stat().st_size > 1_000_000
    assert theirs.read_bytes() == b"another process's half-written model"
    assert sorted(path.name for path in made.parent.glob("*.partial")) == ["model-int8.partial"]
