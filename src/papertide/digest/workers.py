"""Who holds delivery rows: worker names, and telling a crashed worker from a live one.

A worker's name is ``<host>/<pid namespace>:<pid>:<random>``. Rows held by a worker that
vanished (kill -9, a crash, a reboot) go back to the queue: at once when the worker ran on
this host (same pid namespace) and its process is gone, otherwise after ``claim_timeout``
without a sign of life (a live worker refreshes its claims every 30 s while it delivers). Releasing a
live worker's rows by mistake costs at most the one message it has on the wire, sent twice
with the same Message-ID: before each message a worker checks it still holds the row
(store/deliveries.py ``read_held``).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def host_key() -> str:
    """This host and pid namespace: pids are only comparable within one."""
    try:
        namespace = os.readlink("/proc/self/ns/pid").removeprefix("pid:").strip("[]")
    except OSError:
        namespace = "-"
    return f"{socket.gethostname()}/{namespace}"


# Workers alive in this process (several runs can share one, e.g. the scheduler and a test).
_LIVE: set[str] = set()


def make_worker_name() -> str:
    """A name for one run's claims, unique across hosts and restarts; retire it when the run ends."""
    name = f"{host_key()}:{os.getpid()}:{secrets.token_hex(4)}"
    _LIVE.add(name)
    return name


def retire_worker(name: str) -> None:
    """The run is over: its name no longer counts as alive."""
    _LIVE.discard(name)


def _process_gone(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        # A killed child its parent has not reaped yet is a zombie: it exists but will never run.
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state in {"Z", "X"}


def fetch_gone_workers(
    claimers: Iterable[tuple[str, dt.datetime]], *, me: str, now: dt.datetime, claim_timeout: dt.timedelta
) -> list[str]:
    """The workers whose claims may be taken over: dead on this host, or silent for too long."""
    gone: list[str] = []
    for worker, oldest_claim in claimers:
        if worker == me or worker in _LIVE:
            continue
        parts = worker.rsplit(":", 2)
        pid = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0
        # A worker of this host with our own pid that is not alive here was an earlier, dead process.
        dead_here = parts[0] == host_key() and pid > 0 and (pid == os.getpid() or _process_gone(pid))
        if dead_here or now - oldest_claim > claim_timeout:
            gone.append(worker)
    return gone
