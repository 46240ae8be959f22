"""`make bench` / `python -m bench`: every benchmark at a quick size, one after another, each printing its table.

The sizes here keep the whole run to a few minutes on a laptop; each benchmark's own command
takes the full sizes (README: Benchmarks). Each runs in its own process, so one's memory
(peak RSS is part of several tables) does not count in the next, and one that fails does not
stop the others; the exit status is 1 when any failed.

    .venv/bin/python -m bench                 # all, quick sizes
    .venv/bin/python -m bench search digest   # only these
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time

QUICK: dict[str, list[str]] = {
    "ingest": ["--lines", "50000"],
    "search": ["--papers", "5000", "--queries", "50"],
    "embedding": ["--papers", "100", "--queries", "20", "--backends", "onnx", "onnx-int8", "torch"],
    "trending": ["--papers", "20000", "--runs", "5"],
    "categories": ["--papers", "20000", "--runs", "10"],
    "digest": ["--subscribers", "2000", "--papers", "1000"],
    # Its defaults (50 clients, 60 s, both databases) are the full size the closing note reports.
    "load": ["--clients", "10", "--seconds", "10"],
    "disk": ["--papers", "2000"],
}
"""Each benchmark module and the arguments of its quick run."""


def available() -> list[str]:
    """The benchmarks of QUICK that exist in this checkout."""
    return [name for name in QUICK if importlib.util.find_spec(f"bench.{name}") is not None]


def main() -> None:
    names = available()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("only", nargs="*", metavar="NAME", help=f"run only these ({', '.join(names)}; default: all)")
    chosen = parser.parse_args().only or names
    unknown = [name for name in chosen if name not in names]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(names)}")
    failed: list[str] = []
    for name in chosen:
        command = [sys.executable, "-m", f"bench.{name}", *QUICK[name]]
        print(f"\n=== bench.{name} {' '.join(QUICK[name])}", flush=True)
        started = time.perf_counter()
        code = subprocess.call(command)
        outcome = "ok" if code == 0 else f"FAILED (exit {code})"
        print(f"=== bench.{name}: {outcome} in {time.perf_counter() - started:.0f} s")
        if code != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
