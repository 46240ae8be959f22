"""The digest's settings turned into the plain objects digest/ takes (only web and cli read Settings).

Shared by the pages (web/routes/subscribe.py), the scheduled job (web/scheduler.py) and the
commands (cli/digest.py, cli/subscribers.py), so all three behave alike.
"""

from __future__ import annotations

import datetime as dt
from functools import partial

from sqlalchemy import Engine

from papertide.config import Settings
from papertide.digest.compose import MailComposer, MailSite
from papertide.digest.job import run_digest
from papertide.digest.plan import make_topic_matcher
from papertide.digest.policy import DigestPolicy
from papertide.digest.subscription import SignupLimits
from papertide.domain.subscribers import Preferences
from papertide.mail.transport import make_transport


def mail_site(settings: Settings, secret: str) -> MailSite:
    """Who the mails come from and where their links point."""
    return MailSite(
        name=settings.site_name,
        base_url=settings.base_url,
        mail_from=settings.mail_from,
        secret=secret,
        postal_address=settings.postal_address,
        unsubscribe_address=settings.digest_unsubscribe_address,
        templates_dir=settings.templates_dir,
    )


def digest_policy(settings: Settings) -> DigestPolicy:
    """Scheduling, ranking, retry and bounce rules of a run."""
    return DigestPolicy(
        max_delay=dt.timedelta(hours=settings.digest_max_delay_hours),
        max_lookback=dt.timedelta(days=settings.digest_lookback_days),
        trending_gravity=settings.trending_gravity,
        trending_offset_hours=settings.trending_offset_hours,
        list_timezone=settings.list_timezone,
        topic_hits=settings.digest_topic_hits,
        max_attempts=settings.digest_max_attempts,
        retry_base=dt.timedelta(minutes=settings.digest_retry_minutes),
        bounce_limit=settings.digest_bounce_limit,
        claim_timeout=dt.timedelta(minutes=settings.digest_claim_timeout_minutes),
        pending_expiry=pending_expiry(settings),
        workers=settings.digest_workers,
    )


def signup_defaults(settings: Settings) -> Preferences:
    """Preferences a new subscriber starts with."""
    return Preferences(
        frequency="daily",
        hour=settings.digest_default_hour,
        timezone=settings.digest_default_timezone,
        size=settings.digest_default_size,
    )


def signup_limits(settings: Settings) -> SignupLimits:
    """How many confirmation mails an address and a client may cause."""
    return SignupLimits(
        per_address=settings.digest_confirmations_per_address,
        per_client=settings.digest_confirmations_per_client,
        window=dt.timedelta(minutes=settings.digest_confirmation_window_minutes),
    )


def pending_expiry(settings: Settings) -> dt.timedelta:
    """How long a sign-up may stay unconfirmed (and a confirmation link valid)."""
    return dt.timedelta(days=settings.digest_pending_days)


def link_max_age(settings: Settings) -> dt.timedelta:
    """How long a preferences link stays valid."""
    return dt.timedelta(days=settings.digest_link_days)


def run_scheduled_digest(settings: Settings, engine: Engine) -> tuple[bool, str]:
    """One digest run for `papertide serve`'s scheduler: (succeeded, summary)."""
    # Imported here: web.app imports the routes, which import this module.
    from papertide.web.app import make_search_service

    now = dt.datetime.now(dt.UTC)
    policy = digest_policy(settings)
    search = make_search_service(settings, engine)
    report = run_digest(
        engine,
        partial(make_transport, settings.smtp_url.get_secret_value(), settings.outbox_dir),
        MailComposer(mail_site(settings, settings.secret())),
        now=now,
        policy=policy,
        matcher=make_topic_matcher(search.search_ids, (now - policy.max_lookback).date()),
    )
    return report.failure is None, report.failure or report.summary()
