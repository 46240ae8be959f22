"""Benchmarks of papertide (speed and memory targets live here, never in tests)."""
