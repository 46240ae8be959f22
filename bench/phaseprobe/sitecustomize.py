"""Times the phases of digest delivery in every helper process of a run (issue 13), loaded through ``sitecustomize``.

bench/digest_profile.py ``--workers N`` puts this folder first on PYTHONPATH and names a folder in
``PHASEPROBE``; each delivery helper (a ``spawn`` child: ``--multiprocessing-fork`` on its command
line) then wraps the same phase functions as the run's own process (bench/digest_phases.py) and, at
exit, writes one JSON file: the digests it sent, its CPU when it first looked for work (start-up:
the interpreter, the re-import of the parent's main module, its imports, engine, composer and SMTP
connection), its whole CPU, and the CPU and wall seconds of each phase.
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import sys
import time

_FOLDER = os.environ.get("PHASEPROBE")


def _install(folder: str) -> None:
    from bench.digest_phases import PhaseTimer, count_sent
    from papertide.digest.deliver import Delivery

    timer = PhaseTimer()
    timer.install()
    sent = [0]
    count_sent(sent)
    started: list[float] = []
    drain = Delivery.drain

    def first_drain(self: Delivery) -> bool:
        if not started:
            started.append(time.process_time())
        return drain(self)

    Delivery.drain = first_drain  # type: ignore[method-assign]

    def write() -> None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        figures = {
            "sent": sent[0],
            "cpu": usage.ru_utime + usage.ru_stime,
            "start_cpu": started[0] if started else time.process_time(),
            "seconds": timer.seconds,
            "wall": timer.wall,
        }
        with open(os.path.join(folder, f"helper-{os.getpid()}.json"), "w", encoding="utf-8") as out:
            json.dump(figures, out)

    atexit.register(write)


if _FOLDER and "--multiprocessing-fork" in sys.argv:
    _install(_FOLDER)
