"""Server-rendered pages, parsed as HTML: paper page, search results, errors, health."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from bs4 import BeautifulSoup
from sqlalchemy import Engine

from papertide.domain.models import Paper
from papertide.store.engine import begin_write
from papertide.store.papers import upsert_papers
from tests.corpus import SMALL_CORPUS

FIRST = json.loads(SMALL_CORPUS.read_text(encoding="utf-8").splitlines()[0])


def soup(response: Any) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def test_paper_page_shows_title_authors_abstract_and_links(client: Any) -> None:
    response = client.get(f"/papers/{FIRST['arxiv_id']}")
    page = soup(response)
    assert response.status_code == 200
    assert page.select_one("h1.paper-title").get_text(strip=True) == FIRST["title"]
    assert FIRST["authors"][0] in page.select_one(".authors").get_text()
    assert " ".join(page.select_one(".abstract").get_text().split()) == " ".join(FIRST["abstract"].split())
    links = {a.get_text(strip=True): a["href"] for a in page.select(".paper-actions a")}
    assert links["PDF"] == f"https://arxiv.org/pdf/{FIRST['arxiv_id']}"


def test_a_versioned_id_the_collection_holds_redirects_to_the_canonical_address(client: Any) -> None:
    response = client.get(f"/papers/{FIRST['arxiv_id']}v1", follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["location"] == f"/papers/{FIRST['arxiv_id']}"


def test_unknown_paper_is_a_404_page(client: Any) -> None:
    response = client.get("/papers/2501.99999")
    page = soup(response)
    assert response.status_code == 404
    assert page.select_one(".error-status").get_text(strip=True) == "404"
    assert "2501.99999" in page.select_one(".error-page").get_text()


def test_unknown_address_is_a_404_page_with_the_search_box(client: Any) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert soup(response).select_one("form[role=search] input[name=q]") is not None


def test_search_page_lists_results_with_matched_words_highlighted(client: Any) -> None:
    word = FIRST["title"].split()[0].strip(":,")
    response = client.get("/search", params={"q": word})
    page = soup(response)
    titles = [a.get_text(strip=True) for a in page.select(".paper-item .paper-title a")]
    assert response.status_code == 200
    assert FIRST["title"] in titles
    marked = {mark.get_text().lower() for mark in page.select(".paper-item mark")}
    assert word.lower() in marked


def test_titles_are_escaped_not_rendered_as_html(client: Any, corpus_engine: Engine) -> None:
    hostile = Paper(arxiv_id="2501.00077", title="<script>alert(1)</script> Attention", abstract="Plain text.")
    with begin_write(corpus_engine) as conn:
        upsert_papers(conn, [hostile], dt.datetime.now(dt.UTC))
    response = client.get("/papers/2501.00077")
    page = soup(response)
    assert page.select_one("h1.paper-title script") is None
    assert "<script>alert(1)</script>" in page.select_one("h1.paper-title").get_text()


def test_health_reports_ok_with_a_current_schema(client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


BLAS_CHECK = """
import json, sys
import numpy as np
from threadpoolctl import threadpool_info
from fastapi.testclient import TestClient
from papertide.config import Settings
from papertide.web.app import create_app

def blas_threads():
    # numpy's BLAS pools; an OpenMP build (faiss's) keeps a setting per calling thread.
    return sorted({int(lib["num_threads"]) for lib in threadpool_info()
                   if lib["user_api"] == "blas" and lib.get("threading_layer") != "openmp"})

assert np.ones(3) @ np.ones(3) == 3  # numpy and its BLAS are loaded
before = blas_threads()
settings = Settings(data_dir=sys.argv[1], database_url=sys.argv[2], secret_key="test-secret-key-not-for-production")
with TestClient(create_app(settings)) as client:
    assert client.get("/healthz").status_code == 200
    inside = blas_threads()
print(json.dumps({"before": before, "inside": inside, "after": blas_threads()}))
"""


def test_the_serving_app_does_vector_maths_on_one_blas_thread_and_gives_the_setting_back(
    data_dir: Path, sqlite_url: str, corpus_engine: Engine
) -> None:
    # OpenBLAS spun a thread per core for every semantic search: a third of its CPU under
    # bench/load.py's 50 clients on two cores (issue 9). Requests are the parallelism.
    # A fresh interpreter: OpenBLAS ignores a thread count set from another thread once any
    # count was set explicitly, so whatever earlier tests of this process did would decide it.
    environment = {key: value for key, value in os.environ.items() if not key.endswith("_NUM_THREADS")}
    environment["OPENBLAS_NUM_THREADS"] = "2"
    done = subprocess.run(
        [sys.executable, "-c", BLAS_CHECK, str(data_dir), sqlite_url],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    threads = json.loads(done.stdout.strip().splitlines()[-1])
    assert threads["before"] == [2]
    assert threads["inside"] == [1]
    assert threads["after"] == [2]


def test_health_checks_do_not_read_the_migration_scripts_again(client: Any, monkeypatch: Any) -> None:
    # Reading them imports every script: ~20 ms of each /healthz under bench/load.py (issue 9).
    assert client.get("/healthz").status_code == 200

    def unreadable(*_args: Any) -> None:
        raise OSError("the migration scripts were read again")

    monkeypatch.setattr(ScriptDirectory, "from_config", unreadable)
    for _ in range(3):
        response = client.get("/healthz")
        assert response.status_code == 200, response.text
