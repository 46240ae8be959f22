"""Which backend embeds papers in bulk: capabilities and measured quality in, one backend and its reason out."""

from __future__ import annotations

from pathlib import Path

import pytest

from papertide.search.semantic.backends import (
    AUTO,
    MEASURED,
    NDCG_TOLERANCE,
    Capabilities,
    Measurement,
    select_bulk_backend,
)
from papertide.search.semantic.embedder import load_embedder
from papertide.search.semantic.model import DEFAULT_MODEL, ModelUnavailable

PLAIN_CPU = Capabilities(cpu_flags=frozenset({"avx2", "fma"}), cuda=False)
BF16_CPU = Capabilities(cpu_flags=frozenset({"avx2", "avx512f", "avx512_bf16"}), cuda=False)
AMX_CPU = Capabilities(cpu_flags=frozenset({"avx2", "amx_bf16", "amx_tile"}), cuda=False)
GPU = Capabilities(cpu_flags=frozenset({"avx2"}), cuda=True)


def measurement(backend: str, speed: float, ndcg: float | None) -> Measurement:
    return Measurement(backend, speed, "test", ndcg, "test")


# A table with every case: a fast lossy backend, an unmeasured GPU one, a fine bf16 one.
TABLE = (
    measurement("cuda-fp16", 50.0, None),
    measurement("onnx-int8", 1.9, 0.7335 - NDCG_TOLERANCE - 0.001),
    measurement("torch-bf16", 1.4, 0.7335 - NDCG_TOLERANCE + 0.001),
    measurement("onnx", 1.0, 0.7335),
    measurement("torch", 0.8, 0.7335),
)


def choose(capabilities: Capabilities, table: tuple[Measurement, ...] = TABLE, setting: str = AUTO) -> str:
    return select_bulk_backend(setting, DEFAULT_MODEL, "onnx", capabilities, table).backend


def test_bf16_instructions_make_torch_bf16_the_bulk_backend() -> None:
    assert choose(BF16_CPU) == "torch-bf16"
    assert choose(AMX_CPU) == "torch-bf16"


def test_without_bf16_instructions_float32_onnx_embeds_the_papers() -> None:
    assert choose(PLAIN_CPU) == "onnx"


def test_a_faster_backend_that_loses_more_than_the_tolerance_is_passed_over_with_its_loss() -> None:
    choice = select_bulk_backend(AUTO, DEFAULT_MODEL, "onnx", BF16_CPU, TABLE)
    assert choice.backend == "torch-bf16"
    assert "onnx-int8 (loses 0.0060 nDCG@10)" in choice.reason
    assert "cuda-fp16 (quality not measured)" in choice.reason


def test_a_gpu_is_used_only_once_its_quality_is_measured() -> None:
    assert choose(GPU) == "onnx"
    measured = (measurement("cuda-fp16", 50.0, 0.7335), *TABLE[1:])
    assert choose(GPU, measured) == "cuda-fp16"
    assert choose(PLAIN_CPU, measured) == "onnx"


def test_a_backend_named_in_the_setting_is_used_as_it_is() -> None:
    choice = select_bulk_backend("onnx-int8", DEFAULT_MODEL, "onnx", PLAIN_CPU, TABLE)
    assert (choice.backend, choice.reason) == ("onnx-int8", "set by embedding_bulk_backend")


@pytest.mark.parametrize(
    ("backend", "capabilities", "missing"),
    [("torch-bf16", PLAIN_CPU, "AVX-512 BF16 or AMX"), ("cuda-fp16", BF16_CPU, "CUDA GPU")],
)
def test_a_named_backend_this_machine_cannot_run_is_refused_with_the_reason(
    backend: str, capabilities: Capabilities, missing: str
) -> None:
    with pytest.raises(ModelUnavailable, match=f"embedding_bulk_backend: .*{missing}"):
        select_bulk_backend(backend, DEFAULT_MODEL, "onnx", capabilities, TABLE)
    with pytest.raises(ModelUnavailable, match=missing):
        load_embedder(DEFAULT_MODEL, backend, Path("."), capabilities=capabilities)


def test_a_model_without_measurements_embeds_papers_with_the_query_backend() -> None:
    choice = select_bulk_backend(AUTO, "/models/other", "torch", BF16_CPU, TABLE)
    assert choice.backend == "torch" and "no quality measurements" in choice.reason


def test_the_shipped_measurements_choose_int8_on_every_cpu_and_fp16_on_a_gpu() -> None:
    assert choose(PLAIN_CPU, MEASURED) == "onnx-int8"
    assert choose(BF16_CPU, MEASURED) == "onnx-int8"
    assert choose(GPU, MEASURED) == "cuda-fp16"


def test_every_backend_of_the_shipped_table_that_auto_may_choose_is_within_the_tolerance() -> None:
    reference = next(m.hybrid_dev_ndcg for m in MEASURED if m.backend == "onnx")
    assert reference is not None
    for capabilities in (PLAIN_CPU, BF16_CPU, AMX_CPU, GPU):
        chosen = next(m for m in MEASURED if m.backend == choose(capabilities, MEASURED))
        assert chosen.hybrid_dev_ndcg is not None and chosen.hybrid_dev_ndcg >= reference - NDCG_TOLERANCE
