"""The signing key (issue 9, critical): created once for all processes, never empty, never short."""

from __future__ import annotations

import datetime as dt
import errno
import multiprocessing
import os
import stat
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from pydantic import SecretStr
from sqlalchemy import Engine

from papertide.config import Settings
from papertide.signing_key import MIN_KEY_LENGTH, SigningKeyError
from papertide.store.accounts import write_login
from papertide.store.engine import begin_write
from papertide.web.app import create_app

PROCESSES = 8


def _first_start(data_dir: str, barrier: Barrier, results: Any) -> None:
    barrier.wait()  # every process asks for the key at the same moment
    try:
        results.put(Settings(data_dir=Path(data_dir)).secret())
    except Exception as error:  # reported to the test, which fails on it
        results.put(f"error: {error!r}")


def test_eight_processes_starting_at_once_on_a_fresh_data_dir_all_get_the_same_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    workers = [context.Process(target=_first_start, args=(str(data_dir), barrier, results)) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    keys = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert len(set(keys)) == 1, keys
    [key] = set(keys)
    assert len(key) >= MIN_KEY_LENGTH and not key.startswith("error")
    stored = data_dir / "secret_key"
    assert stored.read_text(encoding="utf-8") == key
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert sorted(path.name for path in data_dir.iterdir()) == ["secret_key"]  # no temporary file left


@pytest.mark.parametrize("content", ["", "\n", "short-key\n"], ids=["empty", "newline", "short"])
def test_an_empty_or_short_key_file_is_refused_with_a_message_naming_it(tmp_path: Path, content: str) -> None:
    (tmp_path / "secret_key").write_text(content, encoding="utf-8")
    with pytest.raises(SigningKeyError) as raised:
        Settings(data_dir=tmp_path).secret()
    message = str(raised.value)
    assert str(tmp_path / "secret_key") in message
    assert f"at least {MIN_KEY_LENGTH} characters" in message and "Delete the file" in message


@pytest.mark.parametrize("value", [" ", "x" * (MIN_KEY_LENGTH - 1)], ids=["blank", "short"])
def test_a_short_key_from_the_environment_is_refused_with_a_message_naming_the_variable(
    tmp_path: Path, value: str
) -> None:
    with pytest.raises(SigningKeyError, match="PAPERTIDE_SECRET_KEY"):
        Settings(data_dir=tmp_path, secret_key=SecretStr(value)).secret()


def test_a_disk_full_at_first_start_leaves_no_key_file_and_the_next_start_makes_a_good_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fsync = os.fsync

    def disk_full(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(SigningKeyError, match="No space left on device"):
        Settings(data_dir=tmp_path).secret()
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert len(Settings(data_dir=tmp_path).secret()) >= MIN_KEY_LENGTH


def test_a_session_cookie_signed_with_an_empty_key_does_not_open_the_account_page(
    settings: Settings, corpus_engine: Engine
) -> None:
    with begin_write(corpus_engine) as conn:
        user = write_login(conn, "victim@example.org", dt.datetime(2026, 11, 28, tzinfo=dt.UTC))
    forged = URLSafeTimedSerializer("", salt="papertide.session").dumps({"u": user.id, "e": user.session_epoch})
    (settings.data_dir / "secret_key").write_bytes(b"")  # what a disk full left behind before the fix
    keyless = settings.model_copy(update={"secret_key": SecretStr("")})
    with pytest.raises(SigningKeyError, match="secret_key"):
        create_app(keyless)  # the server refuses to start rather than sign with ""
    with TestClient(create_app(settings)) as client:  # and a server with a real key refuses the cookie
        client.cookies.set(settings.session_cookie_name, forged)
        response = client.get("/account", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/signin")
