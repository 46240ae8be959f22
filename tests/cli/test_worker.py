"""`papertide worker`, `papertide jobs` and `serve --workers` on SQLite (issue 14); PostgreSQL: tests/fleet."""

from __future__ import annotations

from pathlib import Path

from tests.cli_runner import run_papertide
from tests.community_flow import form_fields, live_client, outbox_messages, signin_link
from tests.fleet.processes import clean_environment, start, wait_for, wait_ready
from tests.ports import free_port


def test_worker_once_runs_what_is_due_and_says_so_with_exit_3_when_nothing_is(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = run_papertide(data_dir, "worker", "--once")
    second = run_papertide(data_dir, "worker", "--once")
    assert first.exit_code == 0, first.stderr
    assert "ran: digest" in first.stderr
    assert second.exit_code == 3, second.stderr
    assert "no job was due (digest)" in second.stderr


def test_a_triggered_job_is_due_at_once_for_the_next_worker_pass(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert run_papertide(data_dir, "worker", "--once").exit_code == 0
    triggered = run_papertide(data_dir, "jobs", "trigger", "digest")
    listed = run_papertide(data_dir, "jobs", "list")
    again = run_papertide(data_dir, "worker", "--once")
    assert triggered.exit_code == 0, triggered.stderr
    assert "digest is due now" in triggered.stderr
    assert listed.stdout.startswith("digest  next ")
    assert "last ok" in listed.stdout
    assert again.exit_code == 0, again.stderr


def test_triggering_a_job_that_is_not_switched_on_names_the_ones_that_are(tmp_path: Path) -> None:
    result = run_papertide(tmp_path / "data", "jobs", "trigger", "ingest:oai")
    assert result.exit_code == 1
    assert "no scheduled job 'ingest:oai'" in result.stderr
    assert "switched on: digest" in result.stderr


def test_a_worker_with_no_job_switched_on_says_which_settings_switch_them_on(tmp_path: Path) -> None:
    result = run_papertide(tmp_path / "data", "worker", PAPERTIDE_DIGEST_SCHEDULE_MINUTES="0")
    assert result.exit_code == 1
    assert "PAPERTIDE_DIGEST_SCHEDULE_MINUTES" in result.stderr


def test_serve_refuses_zero_workers(tmp_path: Path) -> None:
    result = run_papertide(tmp_path / "data", "serve", "--workers", "0")
    assert result.exit_code == 2
    assert "--workers" in result.stderr


def test_serve_with_two_processes_shares_sessions_and_runs_no_jobs_when_told(tmp_path: Path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "data"
    env = clean_environment({"PAPERTIDE_DATA_DIR": str(data_dir), "PAPERTIDE_LOG_LEVEL": "WARNING"})
    server = start("serve", ["serve", "--port", str(port), "--workers", "2", "--no-jobs"], env, tmp_path / "logs")
    try:
        wait_ready(server, base_url)
        with live_client(base_url) as client:
            # Each request may reach either process: the sign-in, its CSRF and the session hold anyway.
            _action, fields = form_fields(client.get("/signin").text, "form.stack-form")
            assert client.post("/signin", data={**fields, "email": "ada@example.org"}).status_code == 200
            link = signin_link(wait_for("the sign-in mail", lambda: outbox_messages(data_dir / "outbox"), [server])[0])
            assert link.startswith(base_url)
            _action, fields = form_fields(client.get(link).text, "main form")
            assert client.post("/signin/link", data=fields).status_code == 200
            for _ in range(6):
                assert "ada@example.org" in client.get("/account").text
        listed = run_papertide(data_dir, "jobs", "list")
        assert listed.stdout == ""  # --no-jobs: no scheduler registered a job
    finally:
        assert server.stop() == 0, server.output()
    assert not list((data_dir).glob(".secret_key.*.tmp"))
