"""A digest part's skeleton compiled into quoted-printable pieces: a message is then mostly a join of cached bytes.

After digest/skeleton.py, composing a part still filled the skeleton into one string, found
each card's marker in it and quoted-printable-encoded the text between the cards: about a
third of a millisecond per message, for text that is the same for every subscriber but a
few lines. Quoted-printable encodes line by line (a soft break never crosses a line end),
so the encoding of whole lines can be joined: this module cuts the skeleton at line ends
and encodes once what does not change, as bytes (each card is encoded once per run by the
composer, each line with only per-digest values, such as a "why" line, once per distinct
text). Only the lines that carry the address or the signed links are encoded for each
message.

Each piece also comes in SMTP's transparent form (a line starting with "." gets another,
RFC 5321), made once per piece, so the transport sends the message without scanning 30 KB
for dots (mail/transport.py ``RawMessage.smtp_data``). Every piece starts at a line start,
so stuffing the pieces one by one is stuffing the message. Quoted-printable rarely leaves a
line starting with "." (a title such as ".NET at scale"), so ``encode`` says when no piece
needed stuffing and the composer then joins the message once, not twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from papertide.digest.skeleton import Skeleton, slot_marker
from papertide.mail.mime import encode_quoted_printable
from papertide.mail.transport import dot_stuffed

_CARD_LINE = re.compile("\0([0-9]+)\0\n?")
_SLOT = re.compile("\0s([0-9]+)\0")
# Distinct lines of per-digest values kept encoded (a run has a few thousand "why" lines).
_MEMO_LIMIT = 50_000
# Distinct digests per part and shape whose joined pieces are kept (~30 KB each).
_BODIES = 256


@dataclass(frozen=True, slots=True, eq=False)
class Encoded:
    """Quoted-printable bytes and the same bytes dot-stuffed for SMTP (the same object when no line starts with ".")."""

    data: bytes
    smtp: bytes


def encode_lines(text: str) -> Encoded:
    """``text`` (whole lines) quoted-printable, in both forms."""
    data = encode_quoted_printable(text)
    needs_stuffing = data.startswith(b".") or b"\n." in data
    return Encoded(data, dot_stuffed(data) if needs_stuffing else data)


@dataclass(frozen=True, slots=True)
class _Line:
    """A line with per-message values: a skeleton of its own, literal pieces around value slots."""

    text: Skeleton
    # Encoded lines by their values, for a line without a subscriber's value (those never repeat).
    memo: dict[tuple[str, ...], Encoded] | None

    @property
    def slots(self) -> tuple[int, ...]:
        return self.text.slots

    def piece(self, values: Sequence[str], cards: Sequence[Encoded]) -> Encoded:
        """The line encoded for these values (kept when it has no subscriber's value)."""
        if self.memo is None:
            return encode_lines(self.text.fill(values))
        slots = self.text.slots
        key = (values[slots[0]],) if len(slots) == 1 else tuple([values[slot] for slot in slots])
        found = self.memo.get(key)
        if found is None:
            if len(self.memo) >= _MEMO_LIMIT:
                self.memo.clear()
            found = self.memo[key] = encode_lines(self.text.fill(values))
        return found


@dataclass(frozen=True, slots=True)
class _Constant:
    """Lines without any per-message value, encoded once."""

    encoded: Encoded

    def piece(self, values: Sequence[str], cards: Sequence[Encoded]) -> Encoded:
        return self.encoded


@dataclass(frozen=True, slots=True)
class _Card:
    """Where the card with this index goes (encoded once per run by the composer)."""

    index: int

    def piece(self, values: Sequence[str], cards: Sequence[Encoded]) -> Encoded:
        return cards[self.index]


_Step = _Constant | _Card | _Line


class EncodedLayout:
    """One part of one digest shape as steps; ``encode`` gives a message's pieces.

    Subscribers often get the same papers with the same reasons (all those without topics, for
    one): the part's text is then the same but for the subscriber's lines. So the pieces
    between those lines are joined once per distinct digest and kept, for the most recent
    ``_BODIES`` digests of the shape; a digest seen before costs a lookup, the subscriber's
    lines and a short list.
    """

    def __init__(self, steps: Sequence[_Step], per_subscriber: Sequence[int]) -> None:
        self.steps = tuple(steps)
        # Whether a subscriber's line also shows a per-digest value (then it needs all the values).
        self._mixed = any(
            slot not in per_subscriber
            for step in steps
            if isinstance(step, _Line) and step.memo is None
            for slot in step.slots
        )
        self._bodies: dict[tuple[object, ...], tuple[tuple[Encoded | _Line, ...], bool]] = {}

    def encode(
        self,
        digest: tuple[object, ...],
        subscriber_values: Sequence[str],
        all_values: Callable[[], Sequence[str]],
        cards: Sequence[Encoded],
    ) -> tuple[list[bytes], list[bytes] | None]:
        """The part's quoted-printable pieces, and their SMTP forms or None when those are the same bytes.

        :param digest: what makes this part's text the same for two subscribers (everything but
            their own values: the per-digest values and the cards).
        :param subscriber_values: the escaped values of the slots a subscriber's lines show.
        :param all_values: every slot's escaped value, in slot order (called only when needed).
        """
        kept = self._bodies.pop(digest, None)
        values: Sequence[str] | None = None
        if kept is None:
            values = all_values()
            kept = self._segments(values, cards)
            if len(self._bodies) >= _BODIES:
                del self._bodies[next(iter(self._bodies))]  # the least recently used
        self._bodies[digest] = kept
        segments, stuffed = kept
        if self._mixed:
            subscriber_values = values if values is not None else all_values()
        pieces: list[Encoded] = []
        for segment in segments:
            if isinstance(segment, Encoded):
                pieces.append(segment)
            else:
                piece = segment.piece(subscriber_values, cards)
                pieces.append(piece)
                stuffed = stuffed or piece.smtp is not piece.data
        data = [piece.data for piece in pieces]
        return data, ([piece.smtp for piece in pieces] if stuffed else None)

    def _segments(self, values: Sequence[str], cards: Sequence[Encoded]) -> tuple[tuple[Encoded | _Line, ...], bool]:
        """The steps, each run between the subscriber's lines joined into one piece; and whether any is stuffed.

        Written out flat (no ``piece`` call for constants and cards): this runs for each digest
        not seen before, which at a few thousand subscribers is nearly half of them.
        """
        segments: list[Encoded | _Line] = []
        data: list[bytes] = []
        smtp: list[bytes] = []
        run_stuffed = stuffed = False
        for step in self.steps:
            if isinstance(step, _Card):
                piece = cards[step.index]
            elif isinstance(step, _Constant):
                piece = step.encoded
            elif step.memo is not None:
                piece = step.piece(values, cards)
            else:
                if data:
                    joined = b"".join(data)
                    segments.append(Encoded(joined, b"".join(smtp) if run_stuffed else joined))
                    stuffed = stuffed or run_stuffed
                    data, smtp, run_stuffed = [], [], False
                segments.append(step)
                continue
            data.append(piece.data)
            smtp.append(piece.smtp)
            if piece.smtp is not piece.data:
                run_stuffed = True
        if data:
            joined = b"".join(data)
            segments.append(Encoded(joined, b"".join(smtp) if run_stuffed else joined))
            stuffed = stuffed or run_stuffed
        return tuple(segments), stuffed


LineMemos = dict[tuple[str, ...], dict[tuple[str, ...], Encoded]]


def compile_layout(skeleton: Skeleton, per_subscriber: Sequence[int], memos: LineMemos) -> EncodedLayout | None:
    """The skeleton as layout steps; None when a card marker does not stand on a line of its own.

    :param per_subscriber: the slots whose values differ between subscribers of one digest.
    :param memos: encoded lines by their literal text, shared by the layouts of one composer: the
        "why" line of the third paper of a 10-paper digest is the same line in a 12-paper one.
    """
    marked = "".join(
        piece + (slot_marker(skeleton.slots[index]) if index < len(skeleton.slots) else "")
        for index, piece in enumerate(skeleton.pieces)
    )
    lines = [line + "\n" for line in marked.split("\n")]
    lines[-1] = lines[-1][:-1]
    if not lines[-1]:
        lines.pop()
    steps: list[_Step] = []
    constant: list[str] = []

    def close_constant() -> None:
        if constant:
            steps.append(_Constant(encode_lines("".join(constant))))
            constant.clear()

    for line in lines:
        if "\0" not in line:
            constant.append(line)
            continue
        close_constant()
        card = _CARD_LINE.fullmatch(line)
        if card is not None:
            steps.append(_Card(int(card.group(1))))
            continue
        parts = _SLOT.split(line)
        pieces, slots = tuple(parts[0::2]), tuple(int(number) for number in parts[1::2])
        if any("\0" in piece for piece in pieces):
            return None  # a card inline with other text: the composer encodes such parts whole
        if any(slot in per_subscriber for slot in slots):
            previous = steps[-1] if steps else None
            if isinstance(previous, _Line) and previous.memo is None:
                # The subscriber's lines that follow each other are encoded in one go.
                steps[-1] = _Line(_joined(previous.text, Skeleton(pieces, slots)), None)
            else:
                steps.append(_Line(Skeleton(pieces, slots), None))
            continue
        steps.append(_Line(Skeleton(pieces, slots), memos.setdefault(pieces, {})))
    close_constant()
    return EncodedLayout(steps, per_subscriber)


def _joined(first: Skeleton, second: Skeleton) -> Skeleton:
    """One skeleton for ``first``'s text followed by ``second``'s."""
    pieces = (*first.pieces[:-1], first.pieces[-1] + second.pieces[0], *second.pieces[1:])
    return Skeleton(pieces, first.slots + second.slots)
