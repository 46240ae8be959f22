"""Collections on the web: create, add from a paper page, reorder with buttons, notes, feeds, API and abuse."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from papertide.config import Settings
from tests.community_flow import ClientFactory, sign_in
from tests.web.community_members import member_client, page_token

PAPERS = ("2606.00660", "2605.28983", "2606.02398")


@pytest.fixture
def ada(make_client: ClientFactory, app_engine: Engine, settings: Settings) -> TestClient:
    return member_client(make_client, app_engine, settings.outbox_dir, "ada")


@pytest.fixture
def bob(make_client: ClientFactory, app_engine: Engine, settings: Settings) -> TestClient:
    return member_client(make_client, app_engine, settings.outbox_dir, "bob")


def create(client: TestClient, title: str, *, public: bool = True, description: str = "") -> int:
    data = {"csrf_token": page_token(client), "title": title, "description": description}
    if public:
        data["is_public"] = "true"
    response = client.post("/collections", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/collections/(\d+)", response.headers["location"])
    assert found, response.headers["location"]
    return int(found.group(1))


def add(client: TestClient, collection_id: int, arxiv_id: str, note: str = "") -> None:
    data = {"csrf_token": page_token(client), "collection_id": str(collection_id), "arxiv_id": arxiv_id, "note": note}
    response = client.post("/collections/add", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text


def order_on_page(client: TestClient, collection_id: int) -> list[str]:
    soup = BeautifulSoup(client.get(f"/collections/{collection_id}").text, "html.parser")
    return [str(a["href"]).rsplit("/", 1)[1] for a in soup.select("li.collection-item h2.paper-title a")]


def test_a_member_adds_a_paper_from_its_page_to_a_new_collection_and_the_page_lists_it(ada: TestClient) -> None:
    page = BeautifulSoup(ada.get(f"/papers/{PAPERS[0]}").text, "html.parser")
    form = page.select_one("form.collect-new-form")
    assert form is not None
    fields = {str(f["name"]): str(f.get("value", "")) for f in form.select("input[name]")}
    fields.update(title="Agents I like", is_public="true")
    response = ada.post("/collections", data=fields, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/papers/{PAPERS[0]}"

    paper_page = BeautifulSoup(ada.get(f"/papers/{PAPERS[0]}").text, "html.parser")
    listed = paper_page.select(".paper-collections a")
    assert listed[0].get_text() == "Agents I like"


def test_up_and_down_buttons_reorder_without_javascript_and_notes_are_kept(ada: TestClient) -> None:
    collection_id = create(ada, "Reading list")
    for arxiv_id in PAPERS:
        add(ada, collection_id, arxiv_id, note=f"note on {arxiv_id}")
    assert order_on_page(ada, collection_id) == list(PAPERS)

    page = BeautifulSoup(ada.get(f"/collections/{collection_id}").text, "html.parser")
    third = page.select("li.collection-item")[2]
    move = third.select_one("form[action$='/move']")
    assert move is not None
    fields = {str(f["name"]): str(f.get("value", "")) for f in move.select("input[name]")}
    response = ada.post(str(move["action"]), data={**fields, "direction": "up"}, follow_redirects=False)
    assert response.status_code == 303
    assert order_on_page(ada, collection_id) == [PAPERS[0], PAPERS[2], PAPERS[1]]

    first = page.select("li.collection-item")[0]
    assert first.select_one("form[action$='/move'] button[value=up]").has_attr("disabled")  # type: ignore[union-attr]
    assert f"note on {PAPERS[2]}" in ada.get(f"/collections/{collection_id}").text


def test_a_public_collection_has_an_atom_feed_and_a_json_endpoint(ada: TestClient, make_client: ClientFactory) -> None:
    collection_id = create(ada, "Feeds", description="Papers to read")
    add(ada, collection_id, PAPERS[1], note="start here")
    reader = make_client()
    feed = reader.get(f"/collections/{collection_id}/feed.atom")
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("application/atom+xml")
    root = ElementTree.fromstring(feed.content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert root.findtext("a:title", namespaces=ns, default="").endswith("Feeds")
    [entry] = root.findall("a:entry", ns)
    assert entry.findtext("a:summary", namespaces=ns, default="").startswith("start here")

    data = reader.get(f"/api/v1/collections/{collection_id}").json()
    assert data["title"] == "Feeds" and data["owner"] == "ada"
    assert [item["paper"]["arxiv_id"] for item in data["items"]] == [PAPERS[1]]


def test_another_members_private_collection_is_not_found_everywhere(ada: TestClient, bob: TestClient) -> None:
    collection_id = create(ada, "Secret plans", public=False)
    add(ada, collection_id, PAPERS[0])
    assert ada.get(f"/collections/{collection_id}").status_code == 200
    for path in (
        f"/collections/{collection_id}",
        f"/collections/{collection_id}/feed.atom",
        f"/api/v1/collections/{collection_id}",
        "/u/ada/collections/secret-plans",
    ):
        assert bob.get(path).status_code == 404, path
    assert "Secret plans" not in bob.get(f"/papers/{PAPERS[0]}").text
    assert "Secret plans" not in bob.get("/u/ada").text
    response = bob.post(
        f"/collections/{collection_id}/edit",
        data={"csrf_token": page_token(bob), "title": "mine now"},
        follow_redirects=False,
    )
    assert response.status_code == 404


def test_editing_another_members_public_collection_is_forbidden_and_changes_nothing(
    ada: TestClient, bob: TestClient
) -> None:
    collection_id = create(ada, "Open list")
    add(ada, collection_id, PAPERS[0])
    token = page_token(bob)
    attempts = [
        (f"/collections/{collection_id}/edit", {"title": "taken"}),
        (f"/collections/{collection_id}/delete", {}),
        ("/collections/add", {"collection_id": str(collection_id), "arxiv_id": PAPERS[1]}),
    ]
    for path, data in attempts:
        assert bob.post(path, data={"csrf_token": token, **data}, follow_redirects=False).status_code == 403, path
    api = bob.post(
        f"/api/v1/collections/{collection_id}/papers", json={"arxiv_id": PAPERS[1]}, headers={"X-CSRF-Token": token}
    )
    assert api.status_code == 403
    assert order_on_page(ada, collection_id) == [PAPERS[0]]
    assert ada.get(f"/api/v1/collections/{collection_id}").json()["title"] == "Open list"


def test_a_change_without_the_csrf_token_is_refused(ada: TestClient) -> None:
    collection_id = create(ada, "Guarded")
    response = ada.post(f"/collections/{collection_id}/delete", data={}, follow_redirects=False)
    assert response.status_code == 403
    assert ada.get(f"/collections/{collection_id}").status_code == 200


def test_markup_in_titles_descriptions_and_notes_is_shown_as_text(ada: TestClient, make_client: ClientFactory) -> None:
    attack = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    collection_id = create(ada, attack, description=f"about {attack}")
    add(ada, collection_id, PAPERS[0], note=f"note {attack}")
    reader = make_client()
    for path in (f"/collections/{collection_id}", f"/papers/{PAPERS[0]}", "/u/ada", "/collections"):
        html = reader.get(path).text
        assert "<script>alert(1)" not in html, path
        assert "<img src=x" not in html, path
    page = BeautifulSoup(reader.get(f"/collections/{collection_id}").text, "html.parser")
    assert page.select_one("h1.page-title").get_text() == attack  # type: ignore[union-attr]
    assert page.select_one(".collection-note").get_text() == f"note {attack}"  # type: ignore[union-attr]


def test_collection_changes_beyond_the_rate_limit_get_429_with_retry_after(
    make_client: ClientFactory, app_engine: Engine, settings: Settings
) -> None:
    carol = member_client(make_client, app_engine, settings.outbox_dir, "carol", community_actions_per_member=3)
    for index in range(3):
        create(carol, f"list {index}")
    response = carol.post("/collections", data={"csrf_token": page_token(carol), "title": "one more"})
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert len(carol.get("/api/v1/collections?mine=true").json()) == 3


def test_the_api_creates_updates_adds_reorders_and_removes(ada: TestClient) -> None:
    headers = {"X-CSRF-Token": page_token(ada)}
    created = ada.post("/api/v1/collections", json={"title": "API list", "is_public": True}, headers=headers)
    assert created.status_code == 201, created.text
    collection_id = created.json()["id"]
    for arxiv_id in PAPERS:
        assert (
            ada.post(
                f"/api/v1/collections/{collection_id}/papers", json={"arxiv_id": arxiv_id}, headers=headers
            ).status_code
            == 200
        )
    order = list(reversed(PAPERS))
    reordered = ada.post(f"/api/v1/collections/{collection_id}/order", json={"arxiv_ids": order}, headers=headers)
    assert [item["paper"]["arxiv_id"] for item in reordered.json()["items"]] == order
    bad = ada.post(f"/api/v1/collections/{collection_id}/order", json={"arxiv_ids": order[:2]}, headers=headers)
    assert bad.status_code == 422 and "exactly once" in bad.json()["detail"]
    removed = ada.post(
        f"/api/v1/collections/{collection_id}/papers/remove", json={"arxiv_id": PAPERS[1]}, headers=headers
    )
    assert [item["paper"]["arxiv_id"] for item in removed.json()["items"]] == [PAPERS[2], PAPERS[0]]
    renamed = ada.post(f"/api/v1/collections/{collection_id}", json={"title": "Renamed"}, headers=headers)
    assert renamed.json()["title"] == "Renamed" and renamed.json()["slug"] == "api-list"
    assert "/api/v1/collections/{collection_id}/order" in ada.get("/api/v1/openapi.json").json()["paths"]


def test_search_results_carry_the_add_to_collection_form(ada: TestClient) -> None:
    collection_id = create(ada, "From search")
    results = BeautifulSoup(ada.get("/search", params={"q": "FineVerify", "mode": "lexical"}).text, "html.parser")
    card = results.select_one(f"article.paper-item:has(a[href='/papers/{PAPERS[0]}'])")
    assert card is not None
    form = card.select_one("form.collect-form")
    assert form is not None
    fields = {str(f["name"]): str(f.get("value", "")) for f in form.select("input[name]")}
    response = ada.post(
        "/collections/add", data={**fields, "collection_id": str(collection_id)}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/search?")
    assert order_on_page(ada, collection_id) == [PAPERS[0]]


def test_a_member_without_a_handle_is_asked_to_choose_one_before_creating(
    make_client: ClientFactory, settings: Settings
) -> None:
    client = make_client()
    sign_in(client, "nohandle@example.org", settings.outbox_dir)
    assert BeautifulSoup(client.get(f"/papers/{PAPERS[0]}").text, "html.parser").select("details.collect") == []
    response = client.post(
        "/collections", data={"csrf_token": page_token(client), "title": "Mine"}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/account/profile")
