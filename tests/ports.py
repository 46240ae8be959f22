"""Ports for the servers the tests start, and for "nothing listens here", without races under xdist.

Binding port 0 and closing the probe before the server binds leaves a window in which another
process (another xdist worker's server, any outgoing connection's ephemeral port) can take the
port. Here the probe stays bound, with SO_REUSEADDR, until ``KEPT`` later ports were handed out:
the kernel gives a bound port to no other bind(0) nor outgoing connection, a connection to it is
refused while nothing listens, and the servers the tests start (uvicorn, aiosmtpd and `papertide
serve`: asyncio servers, which set SO_REUSEADDR) bind and listen on it beside the idle probe.
"""

from __future__ import annotations

import collections
import socket
import threading

# Probes kept bound: far more than one test ever asks for, so a port is held for its whole test.
KEPT = 64

_lock = threading.Lock()
held_probes: collections.deque[socket.socket] = collections.deque()


def free_port() -> int:
    """A loopback TCP port no other process can take while the test that asked for it runs."""
    probe = socket.socket()
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    probe.bind(("127.0.0.1", 0))
    with _lock:
        held_probes.append(probe)
        while len(held_probes) > KEPT:
            held_probes.popleft().close()
    return int(probe.getsockname()[1])
