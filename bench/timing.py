"""Median and 95th percentile of repeated calls, in milliseconds (bench/categories.py, bench/trending.py)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def time_calls(action: Callable[[], object], runs: int) -> tuple[float, float]:
    """p50 and p95 milliseconds of ``runs`` calls of ``action``."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]
