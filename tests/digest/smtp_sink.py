"""A real SMTP server (aiosmtpd) on loopback that counts what it accepts, with scripted refusals."""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes

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


class RecordingHandler:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.behaviour = Behaviour()
        self.lock = threading.Lock()

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
            self.received.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpSink:
    """Start with ``start()``; ``url`` is what PAPERTIDE_SMTP_URL takes."""

    def __init__(self) -> None:
        self.handler = RecordingHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

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

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
