"""A digest part rendered once per shape, then filled in per subscriber (issue 13).

Of a digest's template, only a few values differ between two subscribers who get the same
number of papers on the same day: the address, the two signed links, the preheader and the
"why" line of each paper (the cards are spliced in later, see compose.py). Rendering the
whole Jinja template for each of 100,000 subscribers cost more than everything else in
composing; rendering it once with a marker in place of each such value, and joining the
literal pieces with the escaped values, gives the same text.

"The same text" is checked rather than assumed: an operator's template may transform a
value (``{{ email|upper }}``) or branch on it, and then the markers do not come out as they
went in. So the composer compares the first message of every shape with a full rendering
and keeps the skeleton only when they agree (``MailComposer._skeleton_for``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_SLOT = re.compile("\0s([0-9]+)\0")


def slot_marker(index: int) -> str:
    """What a template renders in place of per-message value ``index`` (NUL-delimited, like block markers)."""
    return f"\0s{index}\0"


def is_slot_marker(value: str) -> bool:
    """Whether ``value`` is a marker from ``slot_marker`` (the mail finalizer lets these through)."""
    return _SLOT.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class Skeleton:
    """A rendered part cut at its value markers: ``pieces[0] + value + pieces[1] + ...``."""

    pieces: tuple[str, ...]
    slots: tuple[int, ...]

    def fill(self, values: Sequence[str]) -> str:
        """The part with each marker replaced by its (already escaped) value."""
        out = [self.pieces[0]]
        for slot, piece in zip(self.slots, self.pieces[1:], strict=True):
            out.append(values[slot])
            out.append(piece)
        return "".join(out)


def parse_skeleton(rendered: str) -> Skeleton:
    """Cut a rendering made with slot markers into its literal pieces."""
    parts = _SLOT.split(rendered)
    return Skeleton(tuple(parts[0::2]), tuple(int(number) for number in parts[1::2]))
