"""Index replicas (issue 14): processes of one host share a memory-mapped snapshot; one writes, the others follow."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from papertide.search.semantic import following as following_module
from papertide.search.semantic.index import IndexConfig
from papertide.search.semantic.model import Embedder
from papertide.search.semantic.searcher import SemanticSearcher, open_semantic
from papertide.search.semantic.snapshot import POINTER
from tests.search.hashing_embedder import HashingEmbedder
from tests.search.search_corpus import THEMED, paper_ids, store

REPOSITORY = Path(__file__).resolve().parents[2]
KINDS = [IndexConfig(kind="exact"), IndexConfig(kind="hnsw", hnsw_m=8)]


def open_with(engine: Engine, folder: Path, embedder: Embedder | None = None, **options: object) -> SemanticSearcher:
    embedder = embedder or HashingEmbedder()
    return open_semantic(engine, folder, model=embedder.name, backend="test", embedder=embedder, **options)  # type: ignore[arg-type]


@pytest.fixture
def vector_dir(tmp_path: Path) -> Path:
    return tmp_path / "search" / "vectors"


def current_snapshot(folder: Path) -> str:
    return str(json.loads((folder / POINTER).read_text())["snapshot"])


def folder_listing(folder: Path) -> dict[str, int]:
    return {path.name: path.stat().st_mtime_ns for path in folder.iterdir() if path.name != "writer.lock"}


def mapped_files() -> set[str]:
    with open("/proc/self/maps", encoding="utf-8") as maps:
        return {line.split()[-1] for line in maps if line.rstrip().endswith((".npy", ".faiss"))}


@pytest.mark.parametrize("config", KINDS, ids=["exact", "hnsw"])
def test_a_follower_finds_a_paper_the_writer_indexed_after_a_refresh(
    themed_engine: Engine, vector_dir: Path, config: IndexConfig
) -> None:
    writer = open_with(themed_engine, vector_dir, index_config=config)
    writer.sync()
    follower = open_with(themed_engine, vector_dir, index_config=config)
    assert writer.is_writer and not follower.is_writer
    late = dataclasses.replace(THEMED[0], arxiv_id="2509.00009", title="Late paper on turbulence")
    writer.index_papers(list(store(themed_engine, late).changed_ids))
    follower.refresh()
    assert follower.search("late paper turbulence", 1)[0].paper_id == paper_ids(themed_engine)["2509.00009"]
    assert follower.index is not None and follower.index.unsaved == 1
    assert writer.save()
    follower.refresh()
    assert follower.index.base is not None and writer.index is not None and writer.index.base is not None
    assert follower.index.base.path == writer.index.base.path
    assert follower.index.unsaved == 0 and len(follower.index) == len(THEMED) + 1


@pytest.mark.parametrize("config", KINDS, ids=["exact", "hnsw"])
def test_a_paper_embedded_again_is_found_once_by_its_new_text(
    themed_sqlite: Engine, vector_dir: Path, config: IndexConfig
) -> None:
    writer = open_with(themed_sqlite, vector_dir, index_config=config)
    writer.sync()
    follower = open_with(themed_sqlite, vector_dir, index_config=config)
    changed = dataclasses.replace(THEMED[1], title="Glaciers calving icebergs", abstract="Icebergs calve off.")
    writer.index_papers(list(store(themed_sqlite, changed).changed_ids))
    target = paper_ids(themed_sqlite)[THEMED[1].arxiv_id]
    for searcher in (writer, follower):
        hits = searcher.search("glaciers calving icebergs", len(THEMED) + 5)
        assert hits[0].paper_id == target
        assert [hit.paper_id for hit in hits].count(target) == 1 and len(hits) == len(THEMED)


def test_a_follower_never_writes_a_snapshot(
    themed_engine: Engine, vector_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = open_with(themed_engine, vector_dir)
    writer.sync()
    before = folder_listing(vector_dir)
    follower = open_with(themed_engine, vector_dir)
    monkeypatch.setattr(following_module, "SAVE_AFTER_CHANGES", 1)  # every change would call for a snapshot
    late = dataclasses.replace(THEMED[0], arxiv_id="2509.00010", title="Late paper on glaciers")
    assert follower.index_papers(list(store(themed_engine, late).changed_ids)) == 1
    assert follower.sync() == 0
    assert not follower.save()
    assert folder_listing(vector_dir) == before
    assert follower.search("late paper glaciers", 1)[0].paper_id == paper_ids(themed_engine)["2509.00010"]
    assert writer.maintain()  # the writer's maintenance loop catches up and, past the limit, writes the snapshot
    assert folder_listing(vector_dir) != before


def test_a_new_process_starts_from_the_snapshot_without_reading_or_embedding_vectors(
    themed_engine: Engine, vector_dir: Path
) -> None:
    open_with(themed_engine, vector_dir).sync()
    embedder = HashingEmbedder()
    started = open_with(themed_engine, vector_dir, embedder)
    assert started.caught_up == 0 and embedder.embedded == 0
    assert started.index is not None and started.index.base is not None and len(started.index) == len(THEMED)
    assert started.similar(paper_ids(themed_engine)[THEMED[0].arxiv_id], 3)


@pytest.mark.parametrize("config", KINDS, ids=["exact", "hnsw"])
def test_the_snapshot_is_memory_mapped_not_copied(themed_sqlite: Engine, vector_dir: Path, config: IndexConfig) -> None:
    searcher = open_with(themed_sqlite, vector_dir, index_config=config)
    searcher.sync()
    folder = vector_dir / current_snapshot(vector_dir)
    data_file = folder / ("vectors.npy" if config.kind == "exact" else "graph.faiss")
    assert str(data_file) in mapped_files()
    assert searcher.search("chaotic dynamics", 3)


def test_a_torn_snapshot_is_ignored_and_the_last_good_one_kept(themed_sqlite: Engine, vector_dir: Path) -> None:
    config = IndexConfig(kind="hnsw", hnsw_m=8)
    writer = open_with(themed_sqlite, vector_dir, index_config=config)
    writer.sync()
    follower = open_with(themed_sqlite, vector_dir, index_config=config)
    expected = follower.search("theory of mind", 5)
    good = vector_dir / current_snapshot(vector_dir)
    torn = vector_dir / "snapshot-99-torn"
    shutil.copytree(good, torn)
    graph = (torn / "graph.faiss").read_bytes()
    (torn / "graph.faiss").write_bytes(graph[: len(graph) // 2])
    (vector_dir / POINTER).write_text(json.dumps({"snapshot": torn.name}))
    # A crash while writing leaves a staging folder behind: nobody reads it.
    shutil.copytree(good, vector_dir / ".snapshot-100-crashed.partial")
    follower.refresh()
    assert follower.index is not None and follower.index.base is not None and follower.index.base.path == good
    assert follower.search("theory of mind", 5) == expected


def test_when_the_writer_process_is_killed_a_follower_takes_over(themed_engine: Engine, vector_dir: Path) -> None:
    open_with(themed_engine, vector_dir).close()  # migrated, database id recorded
    script = (
        "import sys\n"
        "from sqlalchemy import create_engine\n"
        "from papertide.search.semantic.searcher import open_semantic\n"
        "from tests.search.hashing_embedder import HashingEmbedder\n"
        "engine = create_engine(sys.argv[1])\n"
        "embedder = HashingEmbedder()\n"
        "searcher = open_semantic(engine, __import__('pathlib').Path(sys.argv[2]), model=embedder.name,\n"
        "    backend='test', embedder=embedder)\n"
        "print('writer' if searcher.is_writer else 'follower', flush=True)\n"
        "sys.stdin.readline()\n"
    )
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPOSITORY / "src"), str(REPOSITORY)])}
    url = themed_engine.url.render_as_string(hide_password=False)
    process = subprocess.Popen(
        [sys.executable, "-c", script, url, str(vector_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=environment,
        cwd=REPOSITORY,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "writer"  # the barrier: it holds the lock now
        follower = open_with(themed_engine, vector_dir)
        assert not follower.is_writer
        follower.sync()
        assert not follower.save()
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert follower.is_writer
    assert follower.save()
    reopened = open_with(themed_engine, vector_dir)
    assert reopened.caught_up == 0 and len(reopened.index or ()) == len(THEMED)


@pytest.mark.parametrize("config", KINDS, ids=["exact", "hnsw"])
def test_mapped_and_in_memory_indexes_answer_alike(tmp_path: Path, config: IndexConfig) -> None:
    from papertide.search.semantic.index import VectorIndex
    from papertide.search.semantic.replica import ReplicaIndex
    from papertide.search.semantic.snapshot import read_snapshot, write_snapshot

    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((600, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    kind = "exact" if config.kind == "exact" else "hnsw"
    memory = VectorIndex(16, kind, config)
    memory.add(np.arange(500, dtype=np.int64), vectors[:500])
    write_snapshot(tmp_path, memory, {"change_seq": 1})
    loaded = read_snapshot(tmp_path, config)
    assert loaded is not None
    replica = ReplicaIndex(16, config, loaded[0], kind)
    changes = np.arange(450, 550, dtype=np.int64)  # 50 replaced, 50 new
    memory.add(changes, vectors[500:600])
    replica.add(changes, vectors[500:600])
    assert len(replica) == len(memory) == 550
    for query in vectors[::37]:
        assert_same_hits(replica.search(query, 10), memory.search(query, 10))
        assert_same_hits(replica.search(query, 5, [3, 460, 540, 9999]), memory.search(query, 5, [3, 460, 540, 9999]))
    # Asked for more than it holds, each live paper comes back once: hidden snapshot rows never do.
    everything = replica.search(vectors[0], 600)
    assert sorted(pid for pid, _ in everything) == list(range(550))
    assert dict(everything)[460] == pytest.approx(float(vectors[510] @ vectors[0]), abs=1e-5)
    np.testing.assert_allclose(replica.vector(460), memory.vector(460))  # type: ignore[arg-type]
    merged = replica.merged()
    assert len(merged) == 550
    assert_same_hits(merged.search(vectors[7], 10), memory.search(vectors[7], 10))


def assert_same_hits(found: list[tuple[int, float]], expected: list[tuple[int, float]]) -> None:
    assert [pid for pid, _ in found] == [pid for pid, _ in expected]
    assert [score for _, score in found] == pytest.approx([score for _, score in expected], abs=1e-6)
