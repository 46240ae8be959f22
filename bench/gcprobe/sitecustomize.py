"""Times Python's garbage collector in every process of a benchmark run (issue 13), loaded through ``sitecustomize``.

Python imports ``sitecustomize`` at start-up, so with this folder first on PYTHONPATH every process of
the run (the run's own and each ``spawn`` helper) times each collection in CPU seconds and, at exit,
writes one file per process into the folder named by ``GCPROBE``: its start time, its CPU, then one line
per collection (wall time, generation, CPU seconds, objects collected). ``python -m bench.gc_summary DIR``
sums them per process from the helpers' start (the run's start) on:

    GCPROBE=/tmp/gc PYTHONPATH=bench/gcprobe:src:. .venv/bin/python -m bench.digest --subscribers 30000 \\
        --workers 4 --database sqlite --no-aiosmtpd
    .venv/bin/python -m bench.gc_summary /tmp/gc
"""

from __future__ import annotations

import atexit
import gc
import os
import resource
import time
from typing import Any

_FOLDER = os.environ.get("GCPROBE")
_collections: list[tuple[float, int, float, int]] = []
_started = [0.0]
_born = time.time()


def _timed(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[0] = time.process_time()
    else:
        elapsed = time.process_time() - _started[0]
        _collections.append((time.time(), info["generation"], elapsed, info["collected"]))


def _write() -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    path = os.path.join(str(_FOLDER), f"gc-{os.getpid()}.txt")
    with open(path, "w", encoding="utf-8") as out:
        out.write(f"born={_born} cpu={usage.ru_utime + usage.ru_stime:.1f} frozen={gc.get_freeze_count()}\n")
        out.writelines(
            f"{at:.3f} {generation} {seconds:.5f} {collected}\n" for at, generation, seconds, collected in _collections
        )


if _FOLDER:
    gc.callbacks.append(_timed)
    atexit.register(_write)
