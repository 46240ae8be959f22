"""`run_digest`: one run of the daily digest — tidy up, plan what is due, deliver what is queued.

Idempotent and safe to run at any time, as often as you like, from cron, from
`papertide serve`'s scheduler, or from several hosts at once: planning is keyed by
(subscriber, period) and delivery by claims (see store/deliveries.py).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from papertide.digest.compose import MailComposer
from papertide.digest.deliver import Delivery, DeliveryReport, Transports
from papertide.digest.heap import long_lived_frozen
from papertide.digest.parallel import Helpers, HelperSetup, merge_reports
from papertide.digest.plan import PlanReport, TopicMatcher, run_planning
from papertide.digest.policy import DigestPolicy
from papertide.digest.workers import make_worker_name, retire_worker
from papertide.domain.clock import Clock, utc_now
from papertide.store.engine import begin_write
from papertide.store.subscribers import delete_expired_pending

EXIT_OK = 0
EXIT_FAILURE = 1
Progress = Callable[[str, int], None]


@dataclass
class DigestReport:
    """What one run did, for the CLI summary, the scheduler's log and the benchmark."""

    plan: PlanReport = field(default_factory=PlanReport)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    expired_pending: int = 0
    plan_seconds: float = 0.0
    deliver_seconds: float = 0.0

    @property
    def failure(self) -> str | None:
        """Why delivery stopped early, if it did."""
        return self.delivery.failure

    @property
    def exit_code(self) -> int:
        """0 when the run did what was due (sending nothing is fine), 1 when delivery had to stop."""
        return EXIT_FAILURE if self.failure else EXIT_OK

    def summary(self) -> str:
        """One line for people and logs."""
        plan, sent = self.plan, self.delivery
        parts = [
            f"{plan.planned} planned ({plan.due} due, {plan.empty} with nothing new)",
            f"{sent.sent} sent",
            f"{sent.retried} to retry",
            f"{sent.failed} failed",
            f"{sent.bounced} now bouncing",
            f"{sent.cancelled} cancelled",
        ]
        if sent.taken_over:
            parts.append(f"{sent.taken_over} taken over from stopped runs")
        if self.expired_pending:
            parts.append(f"{self.expired_pending} unconfirmed sign-ups expired")
        why = plan.why_nothing() if not sent.sent else ""
        return "digest: " + ", ".join(parts) + (f"; nothing to send: {why}" if why else "")


def run_digest(
    engine: Engine,
    transports: Transports,
    composer: MailComposer,
    *,
    now: dt.datetime | None = None,
    policy: DigestPolicy | None = None,
    matcher: TopicMatcher | None = None,
    clock: Clock = utc_now,
    sleep: Callable[[float], None] = time.sleep,
    progress: Progress | None = None,
) -> DigestReport:
    """Plan the digests due at ``now`` (default: the clock) and deliver every queued one.

    :param transports: makes a transport (mail/transport.py), e.g.
        ``functools.partial(make_transport, url, outbox)``; it must pickle when
        ``policy.workers`` > 1, since each helper process makes its own.
    :param matcher: free-text topic -> paper ids by relevance; None matches no topics.
    :param clock: the real time, for claims, retries and Date headers (``now`` may be a
        chosen planning instant, e.g. ``--now``).
    :param progress: called with ("plan", subscribers done) and ("send", digests sent).
    """
    # Modules, templates and engine, then what planning hands to delivery: out of the full collections (heap.py).
    with long_lived_frozen() as freeze_made_since:
        policy = policy or DigestPolicy()
        planning_now = now or clock()
        report = DigestReport()
        with begin_write(engine) as conn:
            report.expired_pending = delete_expired_pending(conn, clock() - policy.pending_expiry)
        helpers = None
        if policy.workers > 1:
            # Started first: they deliver each batch as soon as planning has written it.
            setup = HelperSetup(
                database_url=engine.url.render_as_string(hide_password=False),
                transports=transports,
                site=composer.site,
                policy=policy,
                parent_pid=os.getpid(),
            )
            helpers = Helpers(setup, policy.workers - 1)
        shown = own = 0

        def advance(count: int) -> None:
            """Report digests sent so far, the helpers' included (they send while planning goes on)."""
            nonlocal shown, own
            own += count
            total = own + (helpers.sent.value if helpers else 0)
            if progress is not None and total > shown:
                progress("send", total - shown)
                shown = total

        def planned(count: int) -> None:
            if progress is not None:
                progress("plan", count)
                advance(0)

        started = time.perf_counter()
        try:
            report.plan = run_planning(
                engine,
                now=planning_now,
                policy=policy,
                message_id=composer.site.make_message_id,
                matcher=matcher,
                advance=planned if progress else None,
            )
        except BaseException:
            if helpers is not None:
                helpers.join()
            raise
        report.plan_seconds = time.perf_counter() - started
        if helpers is not None:
            helpers.planning_done()
        freeze_made_since()
        started = time.perf_counter()
        worker = make_worker_name()
        try:
            with transports() as transport:
                delivery = Delivery(
                    engine,
                    transport,
                    composer,
                    policy=policy,
                    worker=worker,
                    clock=clock,
                    papers=report.plan.papers,
                    advance=advance,
                    freeze=freeze_made_since,
                )
                report.delivery = delivery.report
                try:
                    delivery.take_over_gone_workers()
                    while delivery.drain():
                        # Retries that fall due shortly are waited for: a brief outage costs minutes, not a run.
                        wait = (delivery.next_retry - clock()).total_seconds() if delivery.next_retry else None
                        if wait is None or wait > policy.retry_wait.total_seconds():
                            break
                        delivery.outcomes.next_retry = None
                        sleep(max(wait, 0.0))
                finally:
                    delivery.close()
        finally:
            retire_worker(worker)
            if helpers is not None:
                merge_reports(report.delivery, helpers.join())
                advance(0)
        report.plan.papers = {}
        report.deliver_seconds = time.perf_counter() - started
        return report
