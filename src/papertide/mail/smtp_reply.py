"""SMTP replies cut out of the bytes a connection received (RFC 5321 section 4.2), in order.

With PIPELINING the replies to MAIL, RCPT and DATA arrive together, usually in one read,
and smtplib takes them apart a line at a time through a buffered file (``getreply``:
a ``readline`` call, a slice and a strip per line, in Python), which cost more per message
than sending 30 KB. ``ReplyBuffer`` takes whatever a read returned, split anywhere, and
gives back whole replies in the order they came; a reply that is not whole yet stays
until the next read completes it. Each reply is read as smtplib reads it (the same code and
text), and a line that is not a reply is an error rather than a guess (smtplib returns -1
for it): the caller cannot know which command it answered, so the connection is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

# smtplib's limit for one reply line (``smtplib._MAXLINE``); a longer line is not SMTP.
MAX_LINE = 8192


class ReplyError(Exception):
    """The server sent something that is not an SMTP reply."""


@dataclass(frozen=True, slots=True)
class Reply:
    """One whole reply: its code and its lines' text joined by newlines, as ``smtplib.getreply`` gives them."""

    code: int
    text: bytes


class ReplyBuffer:
    """Received bytes not yet read as replies; ``feed`` what arrives, ``next_reply`` until it says None."""

    def __init__(self) -> None:
        self._data = b""
        self._start = 0

    @property
    def pending(self) -> int:
        """How many received bytes are not part of a reply taken out yet."""
        return len(self._data) - self._start

    def feed(self, data: bytes) -> None:
        """Add bytes as they came off the connection."""
        if self._start:
            self._data = self._data[self._start :] + data
            self._start = 0
        else:
            self._data += data

    def next_reply(self) -> Reply | None:
        """The oldest whole reply, taken out of the buffer; None while it is incomplete.

        Raises ReplyError for a line without a three-digit code or a line over MAX_LINE.
        """
        data = self._data
        start = self._start
        end = data.find(b"\n", start)
        if end < 0:
            self._check_incomplete(start)
            return None
        line = data[start:end]
        code = line[:3]
        if line[3:4] != b"-" and len(code) == 3 and code.isdigit():  # the usual case: a one-line reply
            self._check_length(line)
            self._start = end + 1
            return Reply(int(code), line[4:].strip(b" \t\r"))
        lines: list[bytes] = []
        first = code
        while True:
            self._check_length(line)
            if len(code) != 3 or not code.isdigit():
                raise ReplyError(f"not an SMTP reply line: {line[:80]!r}")
            if code != first:
                raise ReplyError(f"a multi-line reply changed its code from {first!r} to {code!r}")
            lines.append(line[4:].strip(b" \t\r"))
            start = end + 1
            if line[3:4] != b"-":
                self._start = start
                return Reply(int(code), b"\n".join(lines))
            end = data.find(b"\n", start)
            if end < 0:
                self._check_incomplete(start)
                return None
            line = data[start:end]
            code = line[:3]

    def _check_incomplete(self, start: int) -> None:
        if len(self._data) - start > MAX_LINE:
            raise ReplyError(f"an SMTP reply line longer than {MAX_LINE} bytes")

    @staticmethod
    def _check_length(line: bytes) -> None:
        if len(line) > MAX_LINE:
            raise ReplyError(f"an SMTP reply line longer than {MAX_LINE} bytes")
