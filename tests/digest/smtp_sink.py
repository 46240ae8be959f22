"""A real SMTP server (aiosmtpd) on loopback that counts what it accepts, with scripted refusals."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller

from tests.ports import free_port


@dataclass(frozen=True)
class Received:
    """One message the server accepted, and the number of the connection (session) it came over."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes
    session: int = 0

    def parsed(self) -> EmailMessage:
        message = message_from_bytes(self.data, policy=default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class Behaviour:
    """Replies the server gives instead of accepting: per recipient address, and for the next DATA commands."""

    refuse_recipients: dict[str, str] = field(default_factory=dict)
    data_replies: list[str] = field(default_factory=list)
    data_delay_s: float = 0.0
    # Accept this many more messages but drop the connection instead of answering 250 (a lost reply).
    drop_after_data: int = 0
    # A barrier: the first MAIL of each connection waits until this many connections have sent one.
    mail_barrier: int = 0
    mail_barrier_limit_s: float = 120.0
    # Announce PIPELINING as Postfix does (aiosmtpd reads pipelined commands either way); off: one by one.
    pipelining: bool = True


class RecordingHandler:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.behaviour = Behaviour()
        self.lock = threading.Lock()
        # Connection numbers by id(session); the sessions are kept so that no id is reused.
        self.sessions: dict[int, tuple[int, Any]] = {}
        self.quit: set[int] = set()
        self.mailed: set[int] = set()
        self.barrier_timed_out = False
        self._barrier: asyncio.Event | None = None

    def session_number(self, session: Any) -> int:
        with self.lock:
            if id(session) not in self.sessions:
                self.sessions[id(session)] = (len(self.sessions) + 1, session)
            return self.sessions[id(session)][0]

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname  # aiosmtpd leaves this to a handler that takes over EHLO
        if self.behaviour.pipelining:
            return [*responses[:-1], "250-PIPELINING", responses[-1]]
        return responses

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        number = self.session_number(session)
        if self.behaviour.mail_barrier and number not in self.mailed:
            if self._barrier is None:
                self._barrier = asyncio.Event()
            self.mailed.add(number)
            if len(self.mailed) >= self.behaviour.mail_barrier:
                self._barrier.set()
            try:
                # A bound for a test that went wrong, not a timing assumption: the barrier opens on its own.
                await asyncio.wait_for(self._barrier.wait(), self.behaviour.mail_barrier_limit_s)
            except TimeoutError:
                self.barrier_timed_out = True
                self._barrier.set()
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        number = self.session_number(session)
        with self.lock:
            self.quit.add(number)
        return "221 Bye"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        reply = self.behaviour.refuse_recipients.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.behaviour.data_delay_s:
            await asyncio.sleep(self.behaviour.data_delay_s)
        with self.lock:
            if self.behaviour.data_replies:
                return self.behaviour.data_replies.pop(0)
        number = self.session_number(session)
        with self.lock:
            message = Received(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.original_content, number)
            self.received.append(message)
            drop = self.behaviour.drop_after_data > 0
            self.behaviour.drop_after_data -= drop
        if drop:
            server.transport.close()  # the 250 below goes nowhere: the client never learns the outcome
        return "250 Message accepted for delivery"


class SmtpSink:
    """Start with ``start()``; ``url`` is what PAPERTIDE_SMTP_URL takes."""

    def __init__(self, **options: Any) -> None:
        """``options`` go to aiosmtpd's Controller and SMTP (``ssl_context``, ``tls_context``, ``authenticator``...)."""
        self.handler = RecordingHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **options)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    @property
    def behaviour(self) -> Behaviour:
        return self.handler.behaviour

    @property
    def sessions_without_quit(self) -> set[int]:
        """Connections that ended (or are open) without QUIT: a client that stopped dead."""
        with self.handler.lock:
            numbers = {number for number, _ in self.handler.sessions.values()}
            return numbers - self.handler.quit

    @property
    def barrier_timed_out(self) -> bool:
        return self.handler.barrier_timed_out

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
