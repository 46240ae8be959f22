"""Operator's side of the list: importing subscribers from CSV and adding them by hand.

CSV format (docs/digest.md): a header row naming the columns; ``email`` is required, and
``frequency``, ``hour``, ``timezone``, ``size``, ``categories``, ``authors``, ``topics`` are
optional (lists separated by ``;`` or ``,`` inside the cell). Every row is checked before
anything is stored; a bad row is reported as ``file:line: field: problem``.

Imported addresses are either already confirmed elsewhere (``--confirmed``: the operator
vouches for their consent) or pending, in which case each gets the confirmation mail and
nothing else until it confirms. An address that unsubscribed or bounces is never put back.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import Engine

from papertide.digest.compose import MailComposer
from papertide.digest.preferences import InvalidSubscription, parse_email, parse_preferences
from papertide.domain.subscribers import Preferences, Subscriber
from papertide.mail.transport import DeliveryError, MailTransport
from papertide.store.engine import begin_write
from papertide.store.subscribers import insert_subscriber, write_confirmation_sent

COLUMNS = ("email", "frequency", "hour", "timezone", "size", "categories", "authors", "topics")
MAX_PROBLEMS = 1000


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """One valid row: the address and its preferences."""

    line: int
    email: str
    preferences: Preferences


@dataclass
class RosterFile:
    """What a CSV file holds: valid entries and the problems of the others."""

    entries: list[RosterEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def parse_roster_csv(lines: Iterable[str], name: str, defaults: Preferences) -> RosterFile:
    """Read and check a subscriber CSV; never raises for bad content, reports it instead."""
    result = RosterFile()
    reader = csv.DictReader(iter(lines))
    header = [column.strip().lower() for column in reader.fieldnames or []]
    if "email" not in header:
        result.problems.append(f"{name}:1: the header row must name an 'email' column (got {header or 'nothing'})")
        return result
    unknown = [column for column in header if column not in COLUMNS]
    if unknown:
        result.problems.append(f"{name}:1: unknown columns {unknown}; known: {', '.join(COLUMNS)}")
        return result
    reader.fieldnames = header
    seen: set[str] = set()
    for row in reader:
        line = reader.line_num
        values = {key: (value or "").strip() for key, value in row.items() if key is not None and value}
        if None in row:
            result.problems.append(f"{name}:{line}: more cells than columns")
            continue
        try:
            email = parse_email(values.pop("email", ""))
            preferences = parse_preferences(values, defaults)
        except InvalidSubscription as error:
            result.problems.extend(f"{name}:{line}: {field}: {problem}" for field, problem in error.problems.items())
            continue
        if email in seen:
            result.problems.append(f"{name}:{line}: email: {email} appears twice in the file")
            continue
        seen.add(email)
        result.entries.append(RosterEntry(line=line, email=email, preferences=preferences))
        if len(result.problems) >= MAX_PROBLEMS:
            break
    return result


def read_roster_text(data: bytes, name: str, defaults: Preferences) -> RosterFile:
    """``parse_roster_csv`` over file bytes (UTF-8, with or without a byte-order mark)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return RosterFile(problems=[f"{name}: not UTF-8 text (byte {error.start})"])
    return parse_roster_csv(io.StringIO(text, newline=""), name, defaults)


@dataclass
class ImportReport:
    """What an import stored."""

    added: list[Subscriber] = field(default_factory=list)
    existing: int = 0


def write_roster(engine: Engine, entries: Iterable[RosterEntry], *, confirmed: bool, now: dt.datetime) -> ImportReport:
    """Add the entries not on the list yet; addresses already there (in any state) are left alone."""
    report = ImportReport()
    batch: list[RosterEntry] = []

    def flush() -> None:
        with begin_write(engine) as conn:
            for entry in batch:
                status = "confirmed" if confirmed else "pending"
                added = insert_subscriber(conn, entry.email, entry.preferences, status=status, now=now)
                if added is None:
                    report.existing += 1
                else:
                    report.added.append(added)
        batch.clear()

    for entry in entries:
        batch.append(entry)
        if len(batch) >= 1000:
            flush()
    flush()
    return report


def send_confirmations(
    engine: Engine,
    transport: MailTransport,
    composer: MailComposer,
    pending: Iterable[Subscriber],
    *,
    now: dt.datetime,
    valid_days: int,
) -> Iterator[tuple[Subscriber, str | None]]:
    """Mail each pending subscriber its confirmation link; yields each with the error, if any."""
    with transport:
        for subscriber in pending:
            message = composer.compose_confirmation(
                subscriber_id=subscriber.id,
                email=subscriber.email,
                already_subscribed=False,
                valid_days=valid_days,
                now=now,
            )
            try:
                transport.send(message)
            except DeliveryError as error:
                yield subscriber, str(error)
                continue
            with begin_write(engine) as conn:
                write_confirmation_sent(conn, subscriber.id, now)
            yield subscriber, None
