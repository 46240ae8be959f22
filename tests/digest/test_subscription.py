"""Double opt-in, rate limits that reveal nothing, confirming, managing and leaving (real SMTP server)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import Engine, func, select

from papertide.digest.compose import MailComposer
from papertide.digest.job import run_digest
from papertide.digest.preferences import InvalidSubscription
from papertide.digest.subscription import (
    MailUnavailable,
    SignupLimits,
    SignupOutcome,
    TooManyRequests,
    UndoExpired,
    run_confirmation,
    run_preferences,
    run_resubscribe,
    run_signup,
    run_unsubscribe,
)
from papertide.digest.tokens import ExpiredToken, InvalidToken, sign_token
from papertide.domain.subscribers import Preferences
from papertide.mail.transport import SmtpTransport
from papertide.store.schema import subscribers
from papertide.store.subscribers import get_subscriber_by_email
from tests.digest.digest_data import NOW, SECRET, add_subscriber, make_paper, store_papers
from tests.digest.smtp_sink import SmtpSink
from tests.ports import free_port

WEEK = dt.timedelta(days=7)
UNDO = dt.timedelta(minutes=15)


def signup(
    engine: Engine,
    composer: MailComposer,
    url: str,
    email: str,
    *,
    now: dt.datetime = NOW,
    client: str = "192.0.2.1",
    limits: SignupLimits | None = None,
) -> SignupOutcome:
    return run_signup(
        engine,
        SmtpTransport(url),
        composer,
        email,
        now=now,
        client=client,
        defaults=Preferences(hour=7, timezone="UTC"),
        limits=limits or SignupLimits(),
        pending_expiry=WEEK,
    )


def link(sink: SmtpSink, index: int = -1) -> str:
    text = sink.received[index].parsed().get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(r"https?://\S+/(?:subscribe/confirm|digest/preferences)/(\S+)", text)
    assert found is not None, text
    return found.group(1)


def stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(subscribers)).scalar_one())


def test_signing_up_stores_a_pending_address_and_mails_only_the_confirmation(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    store_papers(engine, [make_paper(1, upvotes=5)])
    outcome = signup(engine, composer, smtp_sink.url, "Jane@Example.org")
    assert outcome == SignupOutcome("jane@example.org", mailed=True, already_subscribed=False)
    with engine.connect() as conn:
        pending = get_subscriber_by_email(conn, "jane@example.org")
    assert pending is not None and pending.status == "pending"
    assert len(smtp_sink.received) == 1
    message = smtp_sink.received[0].parsed()
    assert message["To"] == "jane@example.org" and "Confirm" in message["Subject"]
    run_digest(
        engine, lambda: SmtpTransport(smtp_sink.url), composer, now=NOW + dt.timedelta(days=1), clock=lambda: NOW
    )
    assert len(smtp_sink.received) == 1, "a pending address must get nothing but the confirmation"


def test_confirming_makes_the_address_receive_digests(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    signup(engine, composer, smtp_sink.url, "jane@example.org", now=NOW - dt.timedelta(days=2))
    confirmed = run_confirmation(engine, SECRET, link(smtp_sink), now=NOW - dt.timedelta(days=2), max_age=WEEK)
    assert confirmed.status == "confirmed"
    again = run_confirmation(engine, SECRET, link(smtp_sink), now=NOW - dt.timedelta(days=1), max_age=WEEK)
    assert again.status == "confirmed"
    store_papers(engine, [make_paper(1, upvotes=5)])
    run_digest(engine, lambda: SmtpTransport(smtp_sink.url), composer, now=NOW, clock=lambda: NOW)
    assert [m.recipients for m in smtp_sink.received] == [("jane@example.org",), ("jane@example.org",)]


def test_asking_again_for_a_subscribed_address_mails_it_a_preferences_link_and_changes_nothing(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    subscriber = add_subscriber(engine, "jane@example.org", size=20)
    outcome = signup(engine, composer, smtp_sink.url, "jane@example.org")
    assert outcome.mailed and outcome.already_subscribed
    assert "/digest/preferences/" in smtp_sink.received[0].parsed().get_body(("plain",)).get_content()  # type: ignore[union-attr]
    with engine.connect() as conn:
        after = get_subscriber_by_email(conn, "jane@example.org")
    assert after is not None and after.status == "confirmed" and after.preferences == subscriber.preferences


def test_repeated_sign_ups_for_one_address_stop_mailing_it_without_saying_so(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    outcomes = [signup(engine, composer, smtp_sink.url, "jane@example.org", client=f"192.0.2.{i}") for i in range(6)]
    assert [outcome.mailed for outcome in outcomes] == [True, True, True, False, False, False]
    assert len(smtp_sink.received) == 3
    later = signup(engine, composer, smtp_sink.url, "jane@example.org", now=NOW + dt.timedelta(hours=2))
    assert later.mailed


def test_one_client_signing_up_many_addresses_is_refused_and_nothing_is_stored(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    limits = SignupLimits(per_client=2)
    signup(engine, composer, smtp_sink.url, "one@example.org", limits=limits)
    signup(engine, composer, smtp_sink.url, "two@example.org", limits=limits)
    with pytest.raises(TooManyRequests) as caught:
        signup(engine, composer, smtp_sink.url, "three@example.org", limits=limits)
    assert caught.value.retry_after > 0
    assert stored(engine) == 2 and len(smtp_sink.received) == 2


@pytest.mark.parametrize("email", ["nobody", "jane@example.org\r\nBcc: victim@example.org", "jane@", ""])
def test_invalid_addresses_store_nothing_and_send_nothing(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer, email: str
) -> None:
    with pytest.raises(InvalidSubscription):
        signup(engine, composer, smtp_sink.url, email)
    assert stored(engine) == 0 and smtp_sink.received == []


def test_when_the_mail_server_is_down_the_sign_up_is_not_kept(engine: Engine, composer: MailComposer) -> None:
    with pytest.raises(MailUnavailable):
        signup(engine, composer, f"smtp://127.0.0.1:{free_port()}", "jane@example.org")
    assert stored(engine) == 0


def test_unconfirmed_sign_ups_and_their_links_expire_after_seven_days(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    signup(engine, composer, smtp_sink.url, "jane@example.org")
    token = link(smtp_sink)
    with pytest.raises(ExpiredToken):
        run_confirmation(engine, SECRET, token, now=NOW + WEEK + dt.timedelta(minutes=1), max_age=WEEK)
    later = NOW + WEEK + dt.timedelta(hours=1)
    report = run_digest(engine, lambda: SmtpTransport(smtp_sink.url), composer, now=later, clock=lambda: later)
    assert report.expired_pending == 1 and stored(engine) == 0


def test_forged_links_are_refused(engine: Engine, smtp_sink: SmtpSink, composer: MailComposer) -> None:
    subscriber = add_subscriber(engine, "jane@example.org", status="pending")
    forged = sign_token("not-the-secret", "confirm", subscriber.id, "jane@example.org", NOW)
    wrong_purpose = sign_token(SECRET, "unsubscribe", subscriber.id, "jane@example.org", NOW)
    for token in (forged, wrong_purpose, "1.abc.def", f"{subscriber.id + 1}.x.y"):
        with pytest.raises(InvalidToken):
            run_confirmation(engine, SECRET, token, now=NOW, max_age=WEEK)
    with engine.connect() as conn:
        assert get_subscriber_by_email(conn, "jane@example.org").status == "pending"  # type: ignore[union-attr]


def test_unsubscribing_is_immediate_idempotent_and_can_be_undone(engine: Engine, composer: MailComposer) -> None:
    subscriber = add_subscriber(engine, "jane@example.org")
    token = sign_token(SECRET, "unsubscribe", subscriber.id, "jane@example.org", NOW - dt.timedelta(days=400))
    assert run_unsubscribe(engine, SECRET, token, now=NOW).status == "unsubscribed"
    assert run_unsubscribe(engine, SECRET, token, now=NOW).status == "unsubscribed"
    assert run_resubscribe(engine, SECRET, token, now=NOW, window=UNDO).status == "confirmed"


def test_an_unsubscribe_cannot_be_undone_after_the_window(engine: Engine) -> None:
    subscriber = add_subscriber(engine, "jane@example.org")
    token = sign_token(SECRET, "unsubscribe", subscriber.id, "jane@example.org", NOW - dt.timedelta(days=400))
    run_unsubscribe(engine, SECRET, token, now=NOW)
    with pytest.raises(UndoExpired):
        run_resubscribe(engine, SECRET, token, now=NOW + UNDO + dt.timedelta(seconds=1), window=UNDO)
    assert run_unsubscribe(engine, SECRET, token, now=NOW + dt.timedelta(days=90)).status == "unsubscribed"


def test_a_confirmation_link_sent_before_unsubscribing_does_not_resubscribe(
    engine: Engine, smtp_sink: SmtpSink, composer: MailComposer
) -> None:
    signup(engine, composer, smtp_sink.url, "jane@example.org", now=NOW)
    old_link = link(smtp_sink)
    confirmed = run_confirmation(engine, SECRET, old_link, now=NOW, max_age=WEEK)
    run_unsubscribe(
        engine,
        SECRET,
        sign_token(SECRET, "unsubscribe", confirmed.id, confirmed.email, NOW),
        now=NOW + dt.timedelta(hours=1),
    )
    with pytest.raises(ExpiredToken):
        run_confirmation(engine, SECRET, old_link, now=NOW + dt.timedelta(hours=2), max_age=WEEK)
    signup(engine, composer, smtp_sink.url, "jane@example.org", now=NOW + dt.timedelta(hours=3))
    fresh = run_confirmation(engine, SECRET, link(smtp_sink), now=NOW + dt.timedelta(hours=3), max_age=WEEK)
    assert fresh.status == "confirmed"


def test_bad_preferences_store_nothing(engine: Engine) -> None:
    subscriber = add_subscriber(engine, "jane@example.org", size=12)
    token = sign_token(SECRET, "manage", subscriber.id, "jane@example.org", NOW)
    with pytest.raises(InvalidSubscription):
        run_preferences(engine, SECRET, token, {"size": "8", "timezone": "Atlantis/Capital"}, now=NOW, max_age=WEEK)
    with engine.connect() as conn:
        assert get_subscriber_by_email(conn, "jane@example.org").preferences.size == 12  # type: ignore[union-attr]
    updated = run_preferences(engine, SECRET, token, {"size": "8", "timezone": "Europe/Oslo"}, now=NOW, max_age=WEEK)
    assert (updated.preferences.size, updated.preferences.timezone) == (8, "Europe/Oslo")
