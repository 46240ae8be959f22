"""Killed ingest runs are marked interrupted, never `running` for ever; a full disk says so (issue 9)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, insert, select

from papertide.domain.faults import FAULT_EXIT_CODE
from papertide.search.lexical import index as lexical_index
from papertide.search.lexical import writer as lexical_writer
from papertide.store.engine import begin_write
from papertide.store.runs import RUN_LEASE, RunOwner, write_interrupted_runs
from papertide.store.schema import ingest_runs
from tests.cli_runner import run_papertide

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


def papers_file(path: Path, count: int = 3) -> Path:
    lines = [
        json.dumps({"arxiv_id": f"2501.{n:05d}", "title": f"Paper {n}", "abstract": "An abstract."})
        for n in range(1, count + 1)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_killed_ingest(data_dir: Path, source: Path) -> subprocess.CompletedProcess[bytes]:
    """``papertide ingest jsonl`` in a real process that dies right after its first batch commits."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PAPERTIDE_")}
    env.update(
        PAPERTIDE_DATA_DIR=str(data_dir),
        PAPERTIDE_SEARCH_EMBED_BATCH_LIMIT="0",
        PAPERTIDE_FAULT="after-batch-commit:0",
        HF_HUB_OFFLINE="1",
    )
    command = [sys.executable, "-m", "papertide", "ingest", "jsonl", str(source)]
    return subprocess.run(command, env=env, capture_output=True, timeout=300, check=False)


def runs(data_dir: Path) -> list[tuple[str, str, int]]:
    engine = create_engine(f"sqlite:///{data_dir / 'papertide.db'}")
    with engine.connect() as conn:
        rows = conn.execute(select(ingest_runs.c.status, ingest_runs.c.source, ingest_runs.c.new).order_by("id"))
        found = [(row.status, row.source, row.new) for row in rows]
    engine.dispose()
    return found


def test_a_run_killed_after_a_batch_commit_is_shown_interrupted_by_status(tmp_path: Path) -> None:
    data = tmp_path / "data"
    killed = run_killed_ingest(data, papers_file(tmp_path / "p.jsonl"))
    assert killed.returncode == FAULT_EXIT_CODE, killed.stderr.decode()
    assert runs(data) == [("running", "jsonl", 0)]
    status = run_papertide(data, "ingest", "status")
    assert status.exit_code == 0, status.stderr
    assert status.stdout.split()[:3] == ["run", "jsonl", "interrupted"]
    assert runs(data) == [("interrupted", "jsonl", 0)]


def test_the_next_run_marks_a_killed_one_interrupted_and_its_committed_papers_stay(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_killed_ingest(data, papers_file(tmp_path / "p.jsonl")).returncode == FAULT_EXIT_CODE
    rerun = run_papertide(
        data, "ingest", "jsonl", str(papers_file(tmp_path / "q.jsonl", 4)), PAPERTIDE_SEARCH_EMBED_BATCH_LIMIT="0"
    )
    assert rerun.exit_code == 0, rerun.stderr
    # The killed run had committed its three papers: the rerun finds one new.
    assert runs(data) == [("interrupted", "jsonl", 0), ("ok", "jsonl", 1)]


def test_runs_of_other_hosts_are_interrupted_only_after_the_lease(sqlite_engine: Engine) -> None:
    here = RunOwner(host="here", pid=100, is_alive=lambda pid: pid == 101)
    rows = [
        ("here", 101, NOW - dt.timedelta(days=3)),  # alive on this host, however old: stays
        ("here", 102, NOW),  # dead on this host, however recent: interrupted
        ("elsewhere", 7, NOW - RUN_LEASE + dt.timedelta(minutes=1)),  # recent sign of life: stays
        ("elsewhere", 8, NOW - RUN_LEASE - dt.timedelta(minutes=1)),  # silent past the lease: interrupted
    ]
    with begin_write(sqlite_engine) as conn:
        for host, pid, heartbeat in rows:
            conn.execute(
                insert(ingest_runs).values(
                    source="oai", started_at=heartbeat, status="running", host=host, pid=pid, heartbeat_at=heartbeat
                )
            )
        assert write_interrupted_runs(conn, here, NOW) == 2
    with sqlite_engine.connect() as conn:
        statuses = [row.status for row in conn.execute(select(ingest_runs.c.status).order_by(ingest_runs.c.id))]
    assert statuses == ["running", "interrupted", "running", "interrupted"]


DiskUsage = namedtuple("DiskUsage", "total used free")


def test_a_full_disk_while_indexing_says_no_space_left_on_device(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def killed_writer(self: object, writer: object, seq: int) -> None:
        # What tantivy raises when its writer thread died of ENOSPC.
        raise ValueError("An index writer was killed.. A worker thread encountered an error (io::Error most likely)")

    monkeypatch.setattr(lexical_index.LexicalIndex, "_commit", killed_writer)
    monkeypatch.setattr(lexical_writer.shutil, "disk_usage", lambda path: DiskUsage(10**9, 10**9, 0))
    result = run_papertide(
        tmp_path / "data",
        "ingest",
        "jsonl",
        str(papers_file(tmp_path / "p.jsonl")),
        PAPERTIDE_SEARCH_EMBED_BATCH_LIMIT="0",
    )
    message = " ".join(result.stderr.split())
    assert result.exit_code == 1
    assert "No space left on device" in message
    assert "writer was killed" not in message
