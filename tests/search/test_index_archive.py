"""`papertide export-index` / `import-index` (issue 14): a new host starts from another host's indexes.

Both hosts use one database; the second host starts from the copy and catches up what the
database gained since, by the change sequences: nothing is embedded again, nothing rebuilt.
"""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import Engine

from papertide.search.election import WriterElection
from papertide.search.lexical.index import LexicalIndex, directory_for
from papertide.search.semantic.index import IndexConfig
from papertide.search.semantic.searcher import SemanticSearcher, open_semantic, vector_directory_for
from papertide.store.engine import make_engine
from papertide.store.migrate import upgrade_database
from tests.cli_runner import run_papertide
from tests.search.hashing_embedder import HashingEmbedder
from tests.search.search_corpus import THEMED, paper_ids, store
from tests.search.test_lexical import ranked_ids

QUERIES = ["chaotic dynamics", "theory of mind", "glaciers", "late paper on turbulence"]


def open_host(engine: Engine, data_dir: Path, embedder: HashingEmbedder | None = None) -> SemanticSearcher:
    embedder = embedder or HashingEmbedder()
    return open_semantic(
        engine,
        vector_directory_for(data_dir),
        model=embedder.name,
        backend="test",
        embedder=embedder,
        index_config=IndexConfig(kind="hnsw", hnsw_m=8),
    )


def papertide(data_dir: Path, engine: Engine, *args: str) -> tuple[int, str]:
    url = engine.url.render_as_string(hide_password=False)
    result = run_papertide(data_dir, *args, PAPERTIDE_DATABASE_URL=url, PAPERTIDE_VECTOR_INDEX="hnsw")
    # Messages wrap at the console's width: compare them with their whitespace folded.
    return result.exit_code, " ".join(result.stderr.split())


@pytest.fixture
def host_a(themed_engine: Engine, tmp_path: Path) -> Path:
    """A host whose indexes are built and whose vector snapshot is written."""
    data_dir = tmp_path / "host-a"
    LexicalIndex(themed_engine, directory_for(data_dir)).open()
    open_host(themed_engine, data_dir).sync()  # `papertide index` writes the snapshot at its end
    return data_dir


@pytest.mark.parametrize("archive_name", ["copy.tar", "copy"], ids=["tar", "folder"])
def test_a_new_host_imports_an_export_and_searches_alike_without_embedding_again(
    themed_engine: Engine, host_a: Path, tmp_path: Path, archive_name: str
) -> None:
    archive = tmp_path / archive_name
    code, stderr = papertide(host_a, themed_engine, "export-index", str(archive))
    assert code == 0, stderr
    assert "exported the lexical index" in stderr and "vector snapshot snapshot-" in stderr
    # The database moves on after the export: the new host catches that up, and only that.
    late = dataclasses.replace(THEMED[0], arxiv_id="2509.00012", title="Late paper on turbulence")
    serving = open_host(themed_engine, host_a)
    serving.index_papers(list(store(themed_engine, late).changed_ids))
    serving_words = LexicalIndex(themed_engine, directory_for(host_a))
    serving_words.open()

    host_b = tmp_path / "host-b"
    code, stderr = papertide(host_b, themed_engine, "import-index", str(archive))
    assert code == 0, stderr
    assert "1 changed papers to catch up" in stderr and "1 newer vectors to catch up" in stderr

    lexical = LexicalIndex(themed_engine, directory_for(host_b))
    assert lexical.open() is None and lexical.written == 1  # opened, not rebuilt: the late paper applied
    embedder = HashingEmbedder()
    started = open_host(themed_engine, host_b, embedder)
    assert embedder.embedded == 0 and started.caught_up == 1
    assert started.index is not None and started.index.base is not None
    assert len(started.index) == len(THEMED) + 1
    for query in QUERIES:
        assert started.search(query, 5) == serving.search(query, 5)
        assert ranked_ids(lexical, themed_engine, query) == ranked_ids(serving_words, themed_engine, query)
    assert started.search("late paper on turbulence", 1)[0].paper_id == paper_ids(themed_engine)["2509.00012"]


def exported(engine: Engine, host: Path, archive: Path) -> Path:
    code, stderr = papertide(host, engine, "export-index", str(archive))
    assert code == 0, stderr
    return archive


def test_an_archive_of_another_database_is_refused_and_nothing_is_installed(
    themed_engine: Engine, host_a: Path, tmp_path: Path
) -> None:
    archive = exported(themed_engine, host_a, tmp_path / "copy.tar")
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade_database(other)
    host_c = tmp_path / "host-c"
    code, stderr = papertide(host_c, other, "import-index", str(archive))
    other.dispose()
    assert code == 1 and "exported from another database" in stderr
    assert sorted(path.name for path in (host_c / "search").iterdir()) == ["vectors"]
    assert [path.name for path in (host_c / "search" / "vectors").iterdir()] == ["writer.lock"]


def test_a_corrupt_file_is_named_and_the_installed_indexes_are_kept(
    themed_engine: Engine, host_a: Path, tmp_path: Path
) -> None:
    archive = exported(themed_engine, host_a, tmp_path / "copy")
    host_b = tmp_path / "host-b"
    assert papertide(host_b, themed_engine, "import-index", str(archive))[0] == 0
    before = sorted(str(path.relative_to(host_b)) for path in host_b.rglob("*"))
    manifest = json.loads((archive / "papertide-index.json").read_text())
    victim = next(name for name in manifest["files"] if name.endswith("ids.npy"))
    data = bytearray((archive / victim).read_bytes())
    data[-1] ^= 0xFF
    (archive / victim).write_bytes(bytes(data))
    code, stderr = papertide(host_b, themed_engine, "import-index", str(archive))
    assert code == 1 and f"{victim} is corrupt (its SHA-256 differs" in stderr
    assert sorted(str(path.relative_to(host_b)) for path in host_b.rglob("*")) == before


def test_archives_that_are_not_papertide_index_archives_are_refused_by_name(
    themed_engine: Engine, tmp_path: Path
) -> None:
    host = tmp_path / "host"
    not_tar = tmp_path / "notes.tar"
    not_tar.write_text("hello")
    escaping = tmp_path / "escaping.tar"
    with tarfile.open(escaping, "w") as archive:
        info = tarfile.TarInfo("../../evil")
        info.size = 4
        archive.addfile(info, io.BytesIO(b"evil"))
    empty = tmp_path / "empty"
    empty.mkdir()
    climbing = tmp_path / "climbing"
    climbing.mkdir()
    manifest = {"kind": "papertide-index", "format": 1, "database_id": "x", "lexical_folder": "lexical-v1"}
    (climbing / "papertide-index.json").write_text(json.dumps({**manifest, "snapshot": "..", "files": {}}))
    cases = {
        climbing: "papertide-index.json names the snapshot '..', not a folder name",
        not_tar: "not a readable tar archive",
        escaping: "member '../../evil' is outside the archive's vectors/ and lexical/ folders",
        empty: "not a papertide index archive (no papertide-index.json)",
        tmp_path / "missing.tar": "no such file or folder",
    }
    for source, message in cases.items():
        code, stderr = papertide(host, themed_engine, "import-index", str(source))
        assert code == 1 and message in stderr, stderr
    assert not (tmp_path / "evil").exists()


def test_an_import_is_refused_while_papertide_runs_on_the_host(
    themed_engine: Engine, host_a: Path, tmp_path: Path
) -> None:
    archive = exported(themed_engine, host_a, tmp_path / "copy.tar")
    host_b = tmp_path / "host-b"
    running = WriterElection(vector_directory_for(host_b))
    assert running.try_acquire()
    try:
        code, stderr = papertide(host_b, themed_engine, "import-index", str(archive))
    finally:
        running.release()
    assert code == 1 and "papertide is running on this host" in stderr


def test_an_export_refuses_a_target_that_exists_or_lies_inside_the_indexes(
    themed_engine: Engine, host_a: Path, tmp_path: Path
) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("keep me")
    code, stderr = papertide(host_a, themed_engine, "export-index", str(tmp_path / "taken"))
    assert code == 1 and "exists already" in stderr
    assert (tmp_path / "taken" / "file").read_text() == "keep me"
    code, stderr = papertide(host_a, themed_engine, "export-index", str(host_a / "search" / "copy.tar"))
    assert code == 1 and "inside the indexes it copies" in stderr
    shutil.rmtree(tmp_path / "taken")
