"""tests/ports.py: a port handed to a test stays out of other processes' reach while the test runs."""

from __future__ import annotations

import asyncio
import errno
import socket

import pytest

from tests.ports import KEPT, free_port
from tests.ports import held_probes as held


def test_a_handed_out_port_can_be_bound_by_no_one_else_and_refuses_connections_until_served() -> None:
    port = free_port()
    intruder = socket.socket()
    with pytest.raises(OSError) as taken:
        intruder.bind(("127.0.0.1", port))  # another worker's server, or an outgoing connection's port
    intruder.close()
    assert taken.value.errno == errno.EADDRINUSE
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_the_tests_own_asyncio_server_listens_on_the_handed_out_port() -> None:
    port = free_port()

    async def serve_once() -> bytes:
        def greet(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"hello")
            writer.close()

        server = await asyncio.start_server(greet, "127.0.0.1", port)
        async with server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            greeting = await reader.read()
            writer.close()
            return greeting

    assert asyncio.run(serve_once()) == b"hello"


def test_ports_handed_out_together_differ_and_old_ones_are_let_go() -> None:
    ports = [free_port() for _ in range(KEPT + 1)]
    assert len(set(ports)) == len(ports)
    # The process keeps at most KEPT probes open: the oldest is closed as a new one is made.
    assert len(held) == KEPT and all(probe.fileno() >= 0 for probe in held)
