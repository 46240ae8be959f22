"""`papertide digest run | preview` and `papertide subscribers list | add | remove | import`."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner, Result

from papertide.cli import app
from papertide.store.schema import digest_outbox
from papertide.store.subscribers import get_subscriber_by_email, list_subscribers
from tests.digest.digest_data import NOW, add_subscriber, make_paper, store_papers


@pytest.fixture
def cli(data_dir: Path, sqlite_engine: Engine) -> CliRunner:
    """Each invoke is a fresh invocation whose settings come from this environment."""
    return CliRunner(
        env={
            "PAPERTIDE_DATA_DIR": str(data_dir),
            "PAPERTIDE_DATABASE_URL": str(sqlite_engine.url),
            "PAPERTIDE_SECRET_KEY": "cli-test-secret-0123456789abcdef",
            "PAPERTIDE_BASE_URL": "https://papers.example.org",
            "PAPERTIDE_SMTP_URL": None,
        }
    )


def invoke(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, list(args))


def flat(text: str) -> str:
    """Output with the console's line wrapping undone."""
    return " ".join(text.split())


def outbox(data_dir: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for path in sorted((data_dir / "outbox").glob("*.eml"))
    ]


def emails(engine: Engine, status: str | None = None) -> list[str]:
    with engine.connect() as conn:
        return [s.email for s in list_subscribers(conn, statuses=[status] if status else [])]


def test_add_list_and_remove_subscribers(cli: CliRunner, sqlite_engine: Engine, data_dir: Path) -> None:
    added = invoke(cli, "subscribers", "add", "Ada@Example.org", "--confirmed", "--topic", "neural ODEs", "--hour", "6")
    assert added.exit_code == 0, added.output
    pending = invoke(cli, "subscribers", "add", "grace@example.org")
    assert pending.exit_code == 0, pending.output
    assert [m["To"] for m in outbox(data_dir)] == ["grace@example.org"]
    again = invoke(cli, "subscribers", "add", "ada@example.org", "--confirmed")
    assert again.exit_code == 2 and "already on the list (confirmed)" in flat(again.output)
    listed = invoke(cli, "subscribers", "list", "--json")
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["email"], r["status"], r["hour"]) for r in rows] == [
        ("ada@example.org", "confirmed", 6),
        ("grace@example.org", "pending", 7),
    ]
    assert rows[0]["topics"]["topics"] == ["neural ODEs"]
    assert invoke(cli, "subscribers", "remove", "ada@example.org").exit_code == 0
    assert emails(sqlite_engine, "unsubscribed") == ["ada@example.org"]
    assert invoke(cli, "subscribers", "remove", "grace@example.org", "--erase").exit_code == 0
    assert emails(sqlite_engine) == ["ada@example.org"]
    missing = invoke(cli, "subscribers", "remove", "nobody@example.org")
    assert missing.exit_code == 2 and "not on the subscriber list" in flat(missing.output)


def test_add_refuses_bad_input_and_stores_nothing(cli: CliRunner, sqlite_engine: Engine) -> None:
    for args in (
        ["not-an-address"],
        ["ada@example.org", "--timezone", "Mars/Base"],
        ["ada@example.org", "--size", "3"],
    ):
        result = invoke(cli, "subscribers", "add", *args, "--confirmed")
        assert result.exit_code == 2, args
    assert emails(sqlite_engine) == []


def test_import_checks_every_row_first_and_names_file_line_and_field(
    cli: CliRunner, sqlite_engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "list.csv"
    path.write_text(
        "email,timezone,topics\n"
        "one@example.org,Europe/Paris,neural ODEs; graphs\n"
        "broken-address,UTC,\n"
        "two@example.org,Atlantis/Capital,\n"
        "three@example.org,,\n",
        encoding="utf-8",
    )
    refused = invoke(cli, "subscribers", "import", str(path), "--confirmed")
    assert refused.exit_code == 2
    # Whitespace removed: rich may fold the (machine-dependent) temporary path in the middle of a word.
    squeezed = "".join(refused.output.split())
    assert f"{path}:3:email:" in squeezed and f"{path}:4:timezone:" in squeezed
    assert emails(sqlite_engine) == []
    partial = invoke(cli, "subscribers", "import", str(path), "--confirmed", "--skip-invalid")
    assert partial.exit_code == 0, partial.output
    assert emails(sqlite_engine, "confirmed") == ["one@example.org", "three@example.org"]
    with sqlite_engine.connect() as conn:
        one = get_subscriber_by_email(conn, "one@example.org")
    assert one is not None and one.preferences.topics.phrases == ("neural ODEs", "graphs")


def test_import_never_brings_back_an_address_that_left(cli: CliRunner, sqlite_engine: Engine, tmp_path: Path) -> None:
    add_subscriber(sqlite_engine, "left@example.org", status="unsubscribed")
    path = tmp_path / "list.csv"
    path.write_text("email\nleft@example.org\nnew@example.org\n", encoding="utf-8")
    result = invoke(cli, "subscribers", "import", str(path), "--confirmed")
    assert result.exit_code == 0 and "1 already on the list" in flat(result.output)
    assert emails(sqlite_engine, "unsubscribed") == ["left@example.org"]


def test_import_without_confirmed_mails_each_new_address_its_confirmation(
    cli: CliRunner, sqlite_engine: Engine, data_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "list.csv"
    path.write_text("email\na@example.org\nb@example.org\n", encoding="utf-8")
    assert invoke(cli, "subscribers", "import", str(path)).exit_code == 0
    assert sorted(m["To"] for m in outbox(data_dir)) == ["a@example.org", "b@example.org"]
    assert emails(sqlite_engine, "pending") == ["a@example.org", "b@example.org"]


def test_digest_run_sends_what_is_due_once(cli: CliRunner, sqlite_engine: Engine, data_dir: Path) -> None:
    store_papers(sqlite_engine, [make_paper(i, upvotes=i) for i in range(1, 4)])
    add_subscriber(sqlite_engine, "ada@example.org")
    first = invoke(cli, "digest", "run", "--now", NOW.isoformat())
    second = invoke(cli, "digest", "run", "--now", NOW.isoformat())
    assert first.exit_code == 0 and "1 sent" in flat(first.output), (first.output, repr(first.exception))
    assert second.exit_code == 0 and "0 sent" in flat(second.output)
    [message] = outbox(data_dir)
    assert message["To"] == "ada@example.org" and message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    bad = invoke(cli, "digest", "run", "--now", "yesterday")
    assert bad.exit_code == 2 and "ISO 8601" in flat(bad.output)


def test_digest_preview_writes_the_message_without_storing_or_sending_it(
    cli: CliRunner, sqlite_engine: Engine, data_dir: Path, tmp_path: Path
) -> None:
    store_papers(sqlite_engine, [make_paper(1, upvotes=4, title="Preview me")])
    add_subscriber(sqlite_engine, "ada@example.org")
    target = tmp_path / "preview.eml"
    result = invoke(cli, "digest", "preview", "ada@example.org", "--out", str(target), "--now", NOW.isoformat())
    assert result.exit_code == 0, result.output
    message = email.message_from_bytes(target.read_bytes(), policy=email.policy.default)
    assert "Preview me" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = tmp_path / "preview.html"
    printed = invoke(cli, "digest", "preview", "ada@example.org", "--now", NOW.isoformat(), "--html", str(html))
    # The text part, readable: no MIME headers, no quoted-printable soft breaks.
    assert "Preview me" in printed.stdout
    assert "Content-Transfer-Encoding" not in printed.stdout and "=\n" not in printed.stdout
    assert "Subject:" in printed.stderr
    assert "<h2" in html.read_text(encoding="utf-8") and "Preview me" in html.read_text(encoding="utf-8")
    assert outbox(data_dir) == []
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(digest_outbox)).scalar_one() == 0
    unknown = invoke(cli, "digest", "preview", "nobody@example.org")
    assert unknown.exit_code == 2 and "not on the subscriber list" in flat(unknown.output)


def test_an_empty_digest_says_why_in_the_preview_and_the_run(cli: CliRunner, sqlite_engine: Engine) -> None:
    add_subscriber(sqlite_engine, "ada@example.org")
    early = invoke(cli, "digest", "run", "--now", NOW.replace(hour=5).isoformat())  # due at 07:00
    assert "nothing to send: 1 not due yet" in flat(early.stderr)
    nothing = invoke(cli, "digest", "preview", "ada@example.org", "--now", NOW.isoformat())
    assert "no papers were listed in the last" in flat(nothing.stderr)
    assert "since their last digest" not in flat(nothing.stderr)
    run = invoke(cli, "digest", "run", "--now", NOW.isoformat())
    assert "nothing to send: 1 no papers listed in the look-back" in flat(run.stderr)

    store_papers(sqlite_engine, [make_paper(1, upvotes=3)])
    assert "1 sent" in flat(invoke(cli, "digest", "run", "--now", NOW.isoformat()).stderr)
    later = NOW.replace(hour=23)
    sent = invoke(cli, "digest", "preview", "ada@example.org", "--now", later.isoformat())
    assert "no papers were listed since their last digest" in flat(sent.stderr)


def test_an_empty_digest_names_papers_already_sent_and_an_unconfirmed_or_paused_address(
    cli: CliRunner, sqlite_engine: Engine
) -> None:
    store_papers(sqlite_engine, [make_paper(1, upvotes=3, listed_on=NOW.date())])
    add_subscriber(sqlite_engine, "ada@example.org")
    add_subscriber(sqlite_engine, "grace@example.org", status="pending")
    pending = invoke(cli, "digest", "preview", "grace@example.org", "--now", NOW.isoformat())
    assert "not confirmed its subscription" in flat(pending.stderr) and pending.exit_code == 0
    assert "Subject:" in pending.stderr  # what they would get once confirmed is still shown
    assert "1 sent" in flat(invoke(cli, "digest", "run", "--now", NOW.isoformat()).stderr)
    later = NOW.replace(hour=23)
    again = invoke(cli, "digest", "preview", "ada@example.org", "--now", later.isoformat())
    assert "all 1 papers listed since their last digest were already sent to them" in flat(again.stderr)
