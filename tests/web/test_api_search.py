"""The JSON search API: results, errors as JSON, paper details, similar papers, OpenAPI documentation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from papertide.config import Settings
from tests.search.search_corpus import Paper
from tests.web.search_app import search_client

OLD_STYLE = Paper(
    arxiv_id="math/0601001",
    title="An old-style identifier",
    abstract="Chaotic billiards in old style.",
    authors=("Henri Poincaré",),
    categories=("math.DS",),
    published=dt.date(2006, 1, 1),
)


@pytest.fixture
def client(settings: Settings, sqlite_engine: Engine) -> Iterator[TestClient]:
    with search_client(settings, sqlite_engine, OLD_STYLE) as test_client:
        yield test_client


def test_search_returns_ranked_papers_with_scores_and_engine_ranks(client: TestClient) -> None:
    response = client.get("/api/v1/search", params={"q": "lorenz attractor"})
    body = response.json()
    assert response.status_code == 200
    assert body["mode"] == "hybrid" and body["parsed"] == "lorenz attractor"
    first = body["results"][0]
    assert first["arxiv_id"] == "2501.00001" and first["rank"] == 1
    assert first["title"] == "Neural ordinary differential equations for chaotic dynamics"
    assert first["ranks"]["lexical_rank"] == 1 and first["ranks"]["semantic_rank"] == 1
    assert first["url"] == "http://testserver/papers/2501.00001"
    assert isinstance(first["score"], float)


def test_modes_sorting_and_paging_are_parameters(client: TestClient) -> None:
    body = client.get("/api/v1/search", params={"q": "chaotic", "mode": "lexical", "per_page": 1}).json()
    assert body["total"] == 3 and body["total_exact"] and body["has_more"]
    second = client.get("/api/v1/search", params={"q": "chaotic", "mode": "lexical", "per_page": 1, "page": 2}).json()
    assert second["results"][0]["rank"] == 2
    assert second["results"][0]["arxiv_id"] != body["results"][0]["arxiv_id"]
    newest = client.get("/api/v1/search", params={"q": "chaotic", "mode": "lexical", "sort": "newest"}).json()
    assert [r["arxiv_id"] for r in newest["results"]] == ["2502.00002", "2501.00001", "math/0601001"]


def test_invalid_syntax_is_a_400_with_a_json_message(client: TestClient) -> None:
    response = client.get("/api/v1/search", params={"q": "cat:cs..LG"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "cat: 'cs..LG' is not an arXiv category such as cs.LG, math.DS or the archive cs"
    }


@pytest.mark.parametrize("params", [{"q": "x", "per_page": "101"}, {"q": "x", "mode": "dense"}, {}])
def test_bad_parameters_are_json_errors_not_500(client: TestClient, params: dict[str, str]) -> None:
    response = client.get("/api/v1/search", params=params)
    assert response.status_code == 422
    assert "detail" in response.json()


def test_semantic_mode_without_a_model_is_a_503_that_says_why(settings: Settings, sqlite_engine: Engine) -> None:
    with search_client(settings, sqlite_engine, semantic=False) as client:
        response = client.get("/api/v1/search", params={"q": "chaotic", "mode": "semantic"})
        fallback = client.get("/api/v1/search", params={"q": "chaotic"}).json()
    assert response.status_code == 503
    assert "no embedding model" in response.json()["detail"]
    assert fallback["mode"] == "lexical" and fallback["notices"]


def test_a_paper_is_served_by_its_id_in_any_spelling(client: TestClient) -> None:
    body = client.get("/api/v1/papers/2503.00003v2").json()
    assert body["arxiv_id"] == "2503.00003"
    assert body["authors"] == ["Grace Hopper", "An Wang"]
    assert body["categories"] == ["cs.CL", "cs.AI"]
    assert body["published"] == "2025-03-30" and body["upvotes"] == 20
    assert client.get("/api/v1/papers/math/0601001").json()["title"] == "An old-style identifier"


def test_unknown_papers_are_json_404s(client: TestClient) -> None:
    missing = client.get("/api/v1/papers/2501.99999")
    assert missing.status_code == 404 and missing.json() == {"detail": "No paper 2501.99999 in this collection."}
    assert client.get("/api/v1/papers/not-an-id/similar").status_code == 404


def test_similar_papers_of_a_paper(client: TestClient) -> None:
    body = client.get("/api/v1/papers/2501.00001/similar", params={"limit": 5}).json()
    assert body["arxiv_id"] == "2501.00001"
    found = [result["arxiv_id"] for result in body["results"]]
    assert "2502.00002" in found and "2501.00001" not in found
    old = client.get("/api/v1/papers/math/0601001/similar").json()
    assert old["arxiv_id"] == "math/0601001"


def test_openapi_documents_the_search_endpoints_and_their_models(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    search = schema["paths"]["/api/v1/search"]["get"]
    assert {p["name"] for p in search["parameters"]} == {"q", "mode", "sort", "page", "per_page"}
    ok = search["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ok.endswith("/SearchOut")
    assert search["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/ProblemOut")
    assert "/api/v1/papers/{arxiv_id}" in schema["paths"]
    assert "/api/v1/papers/{arxiv_id}/similar" in schema["paths"]
    assert set(schema["components"]["schemas"]["SearchHitOut"]["properties"]) >= {"arxiv_id", "title", "score"}


def test_a_search_nothing_is_close_to_is_an_empty_200_that_says_no_close_matches(client: TestClient) -> None:
    response = client.get("/api/v1/search", params={"q": "zzqxjvbw"})
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["total_exact"], body["has_more"], body["results"]) == (0, True, False, [])
    assert body["notices"] == ["no close matches: no paper contains these words or is close enough in meaning"]


def test_total_is_the_number_of_results_paging_reaches(client: TestClient) -> None:
    for mode in ("hybrid", "semantic", "lexical"):
        body = client.get("/api/v1/search", params={"q": "chaotic mind", "mode": mode, "per_page": 100}).json()
        assert body["total_exact"] and body["total"] == len(body["results"]) > 0, mode


def test_an_author_only_search_is_sorted_newest_first_and_names_the_matched_author(client: TestClient) -> None:
    body = client.get("/api/v1/search", params={"q": "author:Lovelace"}).json()
    assert body["sort"] == "newest"
    assert [hit["arxiv_id"] for hit in body["results"]] == ["2505.00005", "2501.00001"]
    assert [hit["matched_authors"] for hit in body["results"]] == [["Ada Lovelace"], ["Ada Lovelace"]]
    trending = client.get("/api/v1/search", params={"q": "author:Lovelace", "sort": "trending"}).json()
    assert trending["sort"] == "trending"
    assert client.get("/api/v1/search", params={"q": "chaotic"}).json()["results"][0]["matched_authors"] == []
