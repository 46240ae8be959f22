"""Phases of a digest run, timed by wrapping the functions that make them (bench/digest_profile.py, issue 13).

Kept apart from bench/digest_profile.py so that a delivery helper process can load it at start-up
(bench/phaseprobe) without the benchmark's own imports: the helpers' figures must not include them.
"""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Callable
from typing import Any

# Phase -> the (module, owner, attribute) whose calls make it; time in a nested phase counts there only.
PHASES: dict[str, list[tuple[str, str | None, str]]] = {
    "planning: topic matching": [("papertide.digest.plan", "TopicCache", "ensure")],
    "planning: selection": [
        ("papertide.digest.plan", None, "choose_papers"),
        ("papertide.digest.plan", "SelectionCache", "select"),
        ("papertide.digest.plan", None, "pool_reason"),
    ],
    "planning: reads": [
        ("papertide.digest.plan", None, name)
        for name in (
            "list_subscribers",
            "list_planned",
            "list_sent_papers",
            "list_followed_names_by_email",
            "fetch_pool",
        )
    ],
    "planning: writes": [("papertide.digest.plan", None, "write_planned")],
    "planning: writes (last digest sent)": [("papertide.digest.plan", None, "write_last_digest")],
    "delivery: claims and loads": [
        ("papertide.digest.deliver", None, "claim_batch"),
        ("papertide.digest.deliver", "Delivery", "_load"),
        ("papertide.digest.deliver", "Delivery", "take_over_gone_workers"),
    ],
    # The previous message's "sent" record rides in the next held check's transaction (digest/outcome.py).
    "delivery: held check + record sent": [("papertide.digest.outcome", "Outcomes", "check_held")],
    "delivery: compose": [("papertide.digest.compose", "MailComposer", "compose_digest")],
    "delivery: SMTP": [("papertide.mail.transport", "SmtpTransport", "send")],
    "delivery: record sent alone (batch end, stop)": [("papertide.digest.outcome", "Outcomes", "flush")],
}


class PhaseTimer:
    """Exclusive CPU seconds (``time.process_time``) and wall seconds per phase, by wrapping the phases' functions."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        self.wall: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        # Per open call: CPU and wall clock at entry, then the CPU and wall of the nested phases.
        self.stack: list[list[float]] = []

    def wrap(self, phase: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            frame = [time.process_time(), time.perf_counter(), 0.0, 0.0]
            self.stack.append(frame)
            try:
                return function(*args, **kwargs)
            finally:
                self.stack.pop()
                spent = time.process_time() - frame[0]
                waited = time.perf_counter() - frame[1]
                self.seconds[phase] += spent - frame[2]
                self.wall[phase] += waited - frame[3]
                if self.stack:
                    self.stack[-1][2] += spent
                    self.stack[-1][3] += waited

        return timed

    def install(self) -> None:
        for phase, places in PHASES.items():
            for module_name, owner_name, attribute in places:
                module = importlib.import_module(module_name)
                owner = getattr(module, owner_name, None) if owner_name else module
                if owner is None or not hasattr(owner, attribute):
                    continue  # a phase function of another version of the code
                setattr(owner, attribute, self.wrap(phase, getattr(owner, attribute)))

    def table(self, messages: int, total: float, total_wall: float) -> str:
        per = 1000 / max(messages, 1)
        lines = [f"{'phase':46} {'CPU s':>7} {'ms/msg':>7} {'wall s':>7} {'ms/msg':>7}"]
        rest = ("other (run loop, pool, progress)", total - sum(self.seconds.values()))
        rest_wall = total_wall - sum(self.wall.values())
        for phase, seconds in [*self.seconds.items(), rest]:
            wall = self.wall.get(phase, rest_wall)
            lines.append(f"{phase:46} {seconds:7.2f} {seconds * per:7.3f} {wall:7.2f} {wall * per:7.3f}")
        lines.append(f"{'whole run':46} {total:7.2f} {total * per:7.3f} {total_wall:7.2f} {total_wall * per:7.3f}")
        return "\n".join(lines)


def count_sent(counter: list[int]) -> None:
    """Count each digest recorded as sent in this process into ``counter[0]`` (per process: helpers send too)."""
    from papertide.digest.outcome import Outcomes

    recorded = Outcomes.sent

    def sent(self: Outcomes) -> None:
        counter[0] += 1
        recorded(self)

    Outcomes.sent = sent  # type: ignore[method-assign]
