"""Which embedding backend embeds papers in bulk: what this machine can run, and what was measured (issue 13).

Papers may be embedded by a faster, lower-precision backend than queries, because every backend
approximates the same model and the stored vectors stay in that model's vector space (the space
key names the model and passage scheme, not the backend). That is only true within a tolerance,
so the automatic choice takes the fastest backend that this machine runs natively **and** whose
measured quality stays within ``NDCG_TOLERANCE`` of float32 in exactly that setting: the corpus
embedded with the backend, the queries with ONNX float32 (``papertide eval`` on SciFact dev, hybrid
mode). A backend without a measurement for the configured model is never chosen automatically;
the ``embedding_bulk_backend`` setting still forces any backend by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from papertide.search.semantic.model import DEFAULT_MODEL, ModelUnavailable

# Hybrid nDCG@10 on SciFact dev may fall at most this much below float32 (issue 13).
NDCG_TOLERANCE = 0.005
AUTO = "auto"


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What this machine offers the backends: CPU feature flags and whether torch sees a CUDA GPU."""

    cpu_flags: frozenset[str]
    cuda: bool


@dataclass(frozen=True, slots=True)
class Measurement:
    """One backend measured with the default model; the figures and where they come from.

    :param speed: papers/s relative to ``onnx`` (float32) on the machine of ``speed_source``.
    :param hybrid_dev_ndcg: SciFact dev hybrid nDCG@10 with the corpus embedded by this backend and
        the queries by ONNX float32; None when not measured.
    """

    backend: str
    speed: float
    speed_source: str
    hybrid_dev_ndcg: float | None
    quality_source: str


# Hybrid nDCG@10 on SciFact dev (150 queries) from `papertide eval --mode hybrid` with the default model,
# fusion and floor; papers embedded by the backend, queries by ONNX float32 (docs/search-quality.md).
# With these figures `auto` picks cuda-fp16 where torch sees a GPU and onnx-int8 on every CPU.
FLOAT32_HYBRID_DEV_NDCG = 0.7335
MEASURED: tuple[Measurement, ...] = (
    Measurement(
        backend="cuda-fp16",
        speed=56.0,
        speed_source="2,514 vs ONNX float32's 43-47 abstracts/s on 2 cores: sentence-transformers fp16 on an H200, "
        "outside papertide (../shared/BASELINES.md); papertide's cuda-fp16 path is unmeasured",
        hybrid_dev_ndcg=0.7335,
        quality_source="float16 simulated on float32 kernels (autocast's roundings), papers that reach a dev "
        "query's hybrid top 10 re-embedded (1,260), 2026-11-29; cosine to float32 >= 0.999999",
    ),
    Measurement(
        backend="onnx-int8",
        speed=1.90,
        speed_source="71.3 vs 37.6 papers/s, idle 2-core machine (issue 13)",
        hybrid_dev_ndcg=0.7294,
        quality_source="all 5,183 SciFact papers embedded with int8, 2026-11-29 (semantic dev 0.6567 vs 0.6548)",
    ),
    Measurement(
        backend="torch-bf16",
        speed=1.43,
        speed_source="53.8 vs 37.6 papers/s, idle 2-core machine with AVX-512 BF16 (issue 13)",
        hybrid_dev_ndcg=0.7335,
        quality_source="bfloat16 simulated on float32 kernels (autocast's roundings; cosine >= 0.999993 to real "
        "bf16 autocast), papers in a dev query's hybrid top 20 re-embedded (2,188), 2026-11-29",
    ),
    Measurement(
        backend="onnx",
        speed=1.0,
        speed_source="the reference",
        hybrid_dev_ndcg=FLOAT32_HYBRID_DEV_NDCG,
        quality_source="papertide eval, SciFact dev, hybrid (docs/search-quality.md)",
    ),
    Measurement(
        backend="torch",
        speed=0.81,
        speed_source="5.4 vs 6.7 papers/s, bench/embedding.py (docs/search-quality.md)",
        hybrid_dev_ndcg=FLOAT32_HYBRID_DEV_NDCG,
        quality_source="same float32 function as onnx (cosine >= 0.99999, top-10 overlap 1.000)",
    ),
)


@dataclass(frozen=True, slots=True)
class BulkChoice:
    """The backend that embeds papers, and why (shown by `papertide index`)."""

    backend: str
    reason: str


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


def cpu_has_bf16(flags: set[str] | frozenset[str]) -> bool:
    """Whether bfloat16 arithmetic runs natively (AVX-512 BF16 or AMX); emulated it is slower than fp32.

    Measured on this AVX2-only machine: torch-bf16 0.5 papers/s against torch float32 7.3.
    """
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def fetch_cuda_available() -> bool:
    """Whether torch sees a CUDA GPU (False where torch itself is missing)."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def fetch_capabilities() -> Capabilities:
    """This machine's capabilities (imports torch to ask about CUDA)."""
    return Capabilities(cpu_flags=frozenset(fetch_cpu_flags()), cuda=fetch_cuda_available())


def describe_missing(backend: str, capabilities: Capabilities) -> str | None:
    """Why ``backend`` cannot run natively here, or None when it can."""
    if backend == "torch-bf16" and not cpu_has_bf16(capabilities.cpu_flags):
        return (
            "embedding backend torch-bf16 needs a CPU with AVX-512 BF16 or AMX instructions, which this one lacks "
            "(emulated bfloat16 is slower than float32): use `onnx` instead"
        )
    if backend == "cuda-fp16" and not capabilities.cuda:
        return "embedding backend cuda-fp16 needs a CUDA GPU that torch can use, and torch sees none here"
    return None


def select_bulk_backend(
    setting: str,
    model: str,
    query_backend: str,
    capabilities: Capabilities,
    measured: Sequence[Measurement] = MEASURED,
) -> BulkChoice:
    """The backend that embeds papers: ``setting`` when it names one, else the measured fastest that keeps quality.

    :param model: the configured model's name (the measurements are for the default model only).
    :param query_backend: the backend of queries, used for models without measurements.
    """
    if setting != AUTO:
        problem = describe_missing(setting, capabilities)
        if problem is not None:
            raise ModelUnavailable(f"embedding_bulk_backend: {problem}")
        return BulkChoice(setting, "set by embedding_bulk_backend")
    if model != DEFAULT_MODEL:
        return BulkChoice(query_backend, f"the query backend: no quality measurements for {model!r}")
    reference = next(m.hybrid_dev_ndcg for m in measured if m.backend == "onnx")
    assert reference is not None
    skipped: list[str] = []
    for measurement in sorted(measured, key=lambda m: -m.speed):
        if measurement.hybrid_dev_ndcg is None:
            skipped.append(f"{measurement.backend} (quality not measured)")
        elif measurement.hybrid_dev_ndcg < reference - NDCG_TOLERANCE:
            loss = reference - measurement.hybrid_dev_ndcg
            skipped.append(f"{measurement.backend} (loses {loss:.4f} nDCG@10)")
        elif describe_missing(measurement.backend, capabilities) is not None:
            skipped.append(f"{measurement.backend} (not on this machine)")
        else:
            passed = "" if not skipped else "; passed over: " + ", ".join(skipped)
            return BulkChoice(
                measurement.backend,
                f"fastest backend here within {NDCG_TOLERANCE} nDCG@10 of float32{passed}",
            )
    return BulkChoice(query_backend, "the query backend: no measured backend runs here")
