"""Which process runs an ingest run: this host's name and process id, and a liveness check of others."""

from __future__ import annotations

import os
import socket

from papertide.store.runs import RunOwner


def is_process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    except OSError:
        return False
    return True


def current_owner() -> RunOwner:
    """This process, as the owner of the runs it starts."""
    return RunOwner(host=socket.gethostname()[:255], pid=os.getpid(), is_alive=is_process_alive)
