"""The ONNX Runtime backend: the model exported locally from its own weights, cached under the data dir.

The export runs once per model (a few seconds), from the files sentence-transformers loads,
never from a hub. The model is loaded with eager attention so that ONNX Runtime's optimizer
can fuse the attention layers. ``onnx-int8`` adds dynamic int8 quantisation of the weights
(per channel).
The tokenizer is the model's own ``tokenizer.json`` with truncation set to 256 tokens (the
bundled file pads and cuts at a fixed 128); texts are tokenized once, batched by length
(batching.py) and each batch is padded to its longest text.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from papertide.search.semantic.batching import length_batches
from papertide.search.semantic.model import MAX_TOKENS, ModelSource, ModelUnavailable, Progress
from papertide.search.semantic.passages import Vectors, normalize_rows
from papertide.search.semantic.torch import embedding_dimension, load_sentence_transformer

log = logging.getLogger(__name__)

# Bumped when the export below changes, so that old cached exports are not reused.
EXPORT_VERSION = 2
OPSET = 17
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass(frozen=True, slots=True)
class OnnxExport:
    """A cached export: the model files and what is needed to feed them."""

    folder: Path
    inputs: tuple[str, ...]
    dim: int
    max_tokens: int
    pad_id: int

    @property
    def tokenizer_file(self) -> Path:
        return self.folder / "tokenizer.json"

    def model_file(self, quantized: bool) -> Path:
        return self.folder / ("model-int8.onnx" if quantized else "model.onnx")


def fetch_model_folder(source: ModelSource) -> Path:
    """The local folder holding the model's files (a path, or its snapshot in the Hugging Face cache)."""
    path = Path(source.location)
    if path.is_dir():
        return path
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id=source.location, local_files_only=True))
    except Exception as error:  # the hub client raises several unrelated types for "not cached"
        raise ModelUnavailable(
            f"embedding model {source.name!r} is neither a folder nor in the local Hugging Face cache; "
            "papertide never downloads models"
        ) from error


def compose_fingerprint(source: ModelSource, folder: Path) -> str:
    """Changes whenever the model's files or the export procedure change."""
    digest = hashlib.sha256(f"{source.name}\0{EXPORT_VERSION}\0{MAX_TOKENS}".encode())
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = file.stat()
        digest.update(f"{file.relative_to(folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()[:16]


def _export(source: ModelSource, target: Path) -> None:
    """Export the sentence-transformers pipeline (transformer, pooling, normalisation) to ``target``."""
    import torch

    model = load_sentence_transformer(source, model_kwargs={"attn_implementation": "eager"})
    tokenizer = model.tokenizer
    inputs = tuple(name for name in _INPUTS if name in tokenizer.model_input_names)

    class Pipeline(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            embedding: torch.Tensor = self.model(dict(zip(inputs, tensors, strict=True)))["sentence_embedding"]
            return embedding

    sample = tokenizer(["papertide exports this model", "once"], padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "tokens"} for name in inputs}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pipeline().eval(),
            tuple(sample[name] for name in inputs),
            str(target / "model.onnx"),
            dynamo=False,
            input_names=list(inputs),
            output_names=["sentence_embedding"],
            dynamic_axes={**axes, "sentence_embedding": {0: "batch"}},
            opset_version=OPSET,
        )
    tokenizer.save_pretrained(str(target))
    if not (target / "tokenizer.json").exists():
        raise ModelUnavailable(f"embedding model {source.name!r} has no fast tokenizer; use the torch backend")
    meta = {
        "name": source.name,
        "inputs": list(inputs),
        "dim": embedding_dimension(model),
        "max_tokens": int(model.max_seq_length),
        "pad_id": int(tokenizer.pad_token_id or 0),
    }
    (target / "export.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")


def _quantize(export: OnnxExport) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    final = export.model_file(quantized=True)
    # A name of its own: two processes quantising into one cache at once (several workers starting)
    # each write their own file, and the last rename wins with a whole model either way.
    handle, staged = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=".partial", dir=final.parent)
    os.close(handle)
    partial = Path(staged)
    # The quantizer logs advice about pre-processing on the root logger; it changes nothing here.
    logging.disable(logging.WARNING)
    try:
        # Per-channel scales keep the cosine to the float32 vectors at ~0.99 (0.90 with one scale
        # per tensor); reduce_range avoids saturation on CPUs without VNNI instructions.
        quantize_dynamic(
            str(export.model_file(quantized=False)),
            str(partial),
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=True,
        )
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        logging.disable(logging.NOTSET)
    os.replace(partial, final)


def _read_export(folder: Path) -> OnnxExport:
    meta = json.loads((folder / "export.json").read_text(encoding="utf-8"))
    return OnnxExport(
        folder=folder,
        inputs=tuple(meta["inputs"]),
        dim=int(meta["dim"]),
        max_tokens=int(meta["max_tokens"]),
        pad_id=int(meta["pad_id"]),
    )


def write_onnx_export(source: ModelSource, cache_dir: Path, *, quantized: bool = False) -> OnnxExport:
    """The cached export of ``source``, made first when missing (atomically: a crash leaves no half)."""
    folder = fetch_model_folder(source)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(source.name).name)[:60]
    final = cache_dir / f"{slug}-{compose_fingerprint(source, folder)}"
    if not (final / "export.json").exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".export-", dir=cache_dir))
        # Once per model and machine, and silent for a minute on a slow CPU: say so, then how long it took.
        log.info("exporting the embedding model %s to ONNX (once; up to a minute) into %s", source.name, cache_dir)
        started = time.perf_counter()
        try:
            _export(source, staging)
            try:
                os.replace(staging, final)
            except OSError:
                if not (final / "export.json").exists():  # not a concurrent export that finished first
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        log.info("ONNX export of %s done in %.0f s", source.name, time.perf_counter() - started)
    export = _read_export(final)
    if quantized and not export.model_file(quantized=True).exists():
        log.info("quantising the ONNX model to int8 (once)")
        started = time.perf_counter()
        _quantize(export)
        log.info("int8 quantisation done in %.0f s", time.perf_counter() - started)
    return export


class OnnxEmbedder:
    """Embeds with an ONNX Runtime session over a cached export."""

    def __init__(self, name: str, export: OnnxExport, *, quantized: bool = False, threads: int = 0) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.name = name
        self.backend = "onnx-int8" if quantized else "onnx"
        self.dim = export.dim
        self.max_tokens = min(export.max_tokens, MAX_TOKENS)
        self.inputs = export.inputs
        self.pad_id = export.pad_id
        self.tokenizer = Tokenizer.from_file(str(export.tokenizer_file))
        self.tokenizer.enable_truncation(self.max_tokens)
        self.tokenizer.no_padding()
        self.counter = Tokenizer.from_file(str(export.tokenizer_file))
        self.counter.no_truncation()
        self.counter.no_padding()
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads > 0:
            options.intra_op_num_threads = threads
        # Idle worker threads sleep instead of spinning: on a small shared machine spinning takes
        # the cores the web server, the lexical index and other jobs need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(
            str(export.model_file(quantized)), options, providers=["CPUExecutionProvider"]
        )

    def _run(self, encodings: Sequence[Any]) -> Vectors:
        """Embed tokenized texts in one call, each padded to the longest of them."""
        width = max(len(encoding.ids) for encoding in encodings)
        columns = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in _INPUTS}
        columns["input_ids"].fill(self.pad_id)
        for row, encoding in enumerate(encodings):
            size = len(encoding.ids)
            columns["input_ids"][row, :size] = encoding.ids
            columns["attention_mask"][row, :size] = encoding.attention_mask
            columns["token_type_ids"][row, :size] = encoding.type_ids
        (output,) = self.session.run(["sentence_embedding"], {name: columns[name] for name in self.inputs})
        return normalize_rows(output)

    def embed_documents(
        self, texts: Sequence[str], batch_size: int = 32, on_progress: Progress | None = None
    ) -> Vectors:
        """One unit row per text (cut at ``max_tokens``), in input order; batches of similar length pad little."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        for rows in length_batches([len(encoding.ids) for encoding in encodings], batch_size):
            out[rows] = self._run([encodings[i] for i in rows])
            if on_progress:
                on_progress(len(rows))
        return out

    def embed_query(self, text: str) -> Vectors:
        """The unit vector of one query."""
        vector: Vectors = self._run(self.tokenizer.encode_batch([text]))[0]
        return vector

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts without special tokens or truncation."""
        if not texts:
            return []
        return [len(e.ids) for e in self.counter.encode_batch(list(texts), add_special_tokens=False)]


def load_onnx_embedder(source: ModelSource, cache_dir: Path, *, quantized: bool, threads: int) -> OnnxEmbedder:
    """Export (once) and open ``source`` with ONNX Runtime."""
    export = write_onnx_export(source, cache_dir, quantized=quantized)
    return OnnxEmbedder(source.name, export, quantized=quantized, threads=threads)
