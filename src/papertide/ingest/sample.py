"""The bundled sample corpus (papers from Hugging Face Daily Papers; see README: Sample corpus)."""

from __future__ import annotations

import gzip
from importlib.resources import files
from typing import IO, cast

SAMPLE_FILE = "sample_papers.jsonl.gz"


def sample_name() -> str:
    """How the sample is named in error locations."""
    return SAMPLE_FILE


def open_sample() -> IO[bytes]:
    """The sample's JSON lines, decompressed on the fly; the caller closes it."""
    resource = files("papertide.data").joinpath(SAMPLE_FILE)
    return cast(IO[bytes], gzip.open(str(resource), "rb"))
