"""The index maintenance loop (issue 14): snapshots and large catch-ups are written there, never in a request."""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine

from papertide.config import Settings
from papertide.search.maintenance import IndexMaintainer, MaintenanceStep
from papertide.search.semantic import following as following_module
from papertide.search.semantic.searcher import SemanticSearcher, open_semantic
from papertide.search.semantic.snapshot import POINTER
from tests.search.hashing_embedder import HashingEmbedder
from tests.search.search_corpus import THEMED, paper_ids, store

# Only a hang makes a wait below last this long: each waits for an event the loop sets.
HANG_S = 120.0


def open_searcher(engine: Engine, folder: Path) -> SemanticSearcher:
    embedder = HashingEmbedder()
    return open_semantic(engine, folder, model=embedder.name, backend="test", embedder=embedder)


def current_snapshot(folder: Path) -> str:
    return str(json.loads((folder / POINTER).read_text())["snapshot"])


def test_a_request_over_the_merge_threshold_writes_no_snapshot_and_the_loop_does(
    themed_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "vectors"
    writer = open_searcher(themed_engine, folder)
    writer.sync()
    snapshot, written = current_snapshot(folder), writer.snapshots_written
    monkeypatch.setattr(following_module, "SAVE_AFTER_CHANGES", 1)  # every new vector calls for a merge
    late = dataclasses.replace(THEMED[0], arxiv_id="2509.00011", title="Late paper on glaciers")
    assert writer.index_papers(list(store(themed_engine, late).changed_ids)) == 1
    hits = writer.search("late paper glaciers", 1)  # what a request does
    assert hits[0].paper_id == paper_ids(themed_engine)["2509.00011"]
    assert writer.snapshots_written == written and current_snapshot(folder) == snapshot
    assert writer.index is not None and writer.index.unsaved == 1
    maintainer = IndexMaintainer([MaintenanceStep("vector snapshot", writer.maintain)], interval_s=HANG_S)
    maintainer.start()
    try:
        maintainer.wake()
        assert maintainer.wait_for_pass(0, HANG_S)
    finally:
        maintainer.stop()
    assert maintainer.failures == {}
    assert writer.snapshots_written == written + 1 and current_snapshot(folder) != snapshot
    assert writer.index.unsaved == 0 and writer.search("late paper glaciers", 1) == hits


def test_a_failing_step_is_logged_and_the_next_pass_runs_it_again(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    def flaky() -> bool:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk full")
        return True

    maintainer = IndexMaintainer([MaintenanceStep("flaky", flaky)], interval_s=HANG_S)
    assert maintainer.run_once() == 0
    assert maintainer.failures == {"flaky": "OSError: disk full"}
    assert "index maintenance: flaky failed" in caplog.text
    assert maintainer.run_once() == 1 and maintainer.failures == {}


def test_stopping_the_loop_waits_for_the_pass_in_progress() -> None:
    entered, release = threading.Event(), threading.Event()
    finished: list[bool] = []

    def slow() -> bool:
        entered.set()
        release.wait(HANG_S)
        finished.append(True)
        return True

    maintainer = IndexMaintainer([MaintenanceStep("slow", slow)], interval_s=HANG_S)
    maintainer.start()
    maintainer.wake()
    assert entered.wait(HANG_S)
    stopper = threading.Thread(target=maintainer.stop)
    stopper.start()
    release.set()
    stopper.join(HANG_S)
    assert finished == [True] and not stopper.is_alive()
    assert not any(thread.name == "papertide-index-maintenance" for thread in threading.enumerate())


def maintenance_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "papertide-index-maintenance"]


def test_a_serving_app_runs_the_loop_for_its_life_and_a_test_app_does_not(settings: Settings) -> None:
    from fastapi.testclient import TestClient

    from papertide.web.app import create_app

    with TestClient(create_app(settings)):
        assert maintenance_threads() == []
    with TestClient(create_app(settings, maintain_indexes=True)):
        assert len(maintenance_threads()) == 1
    assert maintenance_threads() == []
