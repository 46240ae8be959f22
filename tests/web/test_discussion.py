"""Discussion on paper pages through the web: comments, replies, edits, upvotes, reports, and the abuse cases."""

from __future__ import annotations

import datetime as dt
from xml.etree import ElementTree

import pytest
from sqlalchemy import Engine, insert

from papertide.config import Settings
from papertide.store.engine import begin_write
from papertide.store.members import write_suspension
from papertide.store.papers import get_paper_by_arxiv_id
from papertide.store.schema import paper_signals
from tests.community_flow import ClientFactory, outbox_messages
from tests.web.members import csrf, make_member, page, post_form, signed_in

PAPER = "2606.00660"
URL = f"/papers/{PAPER}"
ATOM = "{http://www.w3.org/2005/Atom}"


def comment(client: object, body: str, **extra: str) -> object:
    return post_form(client, URL, "#comment-form", body=body, **extra)


def test_a_member_comments_replies_and_edits_and_the_page_says_edited(
    make_client: ClientFactory, app_engine: Engine, settings: Settings
) -> None:
    ada_client, bob_client = make_client(), make_client()
    signed_in(ada_client, app_engine, settings.outbox_dir, "ada")
    signed_in(bob_client, app_engine, settings.outbox_dir, "bob")

    posted = comment(ada_client, "A *fine* paper, see $x^2$.")
    assert posted.status_code == 303 and posted.headers["location"].startswith(f"{URL}#comment-")
    comment_id = int(posted.headers["location"].rsplit("-", 1)[1])

    replied = post_form(bob_client, URL, f"#comment-{comment_id} ~ details.reply-box form", body="I **agree**.")
    assert replied.status_code == 303
    shown = page(ada_client.get(URL))
    first = shown.select_one(f"#comment-{comment_id}")
    assert first is not None and first.select_one(".comment-body em").get_text() == "fine"
    assert first.select_one("code.math").get_text() == "x^2"
    assert first.select_one("a.comment-author")["href"] == "/u/ada"
    [reply] = shown.select(".comment-replies article.comment")
    assert reply.select_one("strong").get_text() == "agree"
    assert shown.select_one("#comments-heading .count").get_text() == "(2)"

    edited = post_form(ada_client, URL, f"#comment-{comment_id} details.edit-box form", body="Changed my mind.")
    assert edited.status_code == 303
    again = page(bob_client.get(URL)).select_one(f"#comment-{comment_id}")
    assert "Changed my mind." in again.get_text() and "edited" in again.select_one(".comment-meta").get_text()

    upvoted = post_form(bob_client, URL, f"#comment-{comment_id} form[action$='/upvote']")
    assert upvoted.status_code == 303
    assert "▲ 1" in page(bob_client.get(URL)).select_one(f"#comment-{comment_id} .comment-actions").get_text()


XSS = [
    ("<script>alert(1)</script>", "script"),
    ("[click](javascript:alert(1))", "javascript"),
    ("<img src=x onerror=alert(1)>", "onerror"),
    ("[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", "data:"),
    ('[x](JaVaScRiPt:alert(1) "t") and <a href="javascript:alert(2)">a</a>', "javascript"),
]


@pytest.mark.parametrize(("payload", "danger"), XSS)
def test_script_in_a_comment_is_inert_in_the_page_and_in_the_feed(
    make_client: ClientFactory, app_engine: Engine, settings: Settings, payload: str, danger: str
) -> None:
    client = make_client()
    signed_in(client, app_engine, settings.outbox_dir, "mallory")
    posted = comment(client, payload)
    assert posted.status_code == 303
    comment_id = posted.headers["location"].rsplit("-", 1)[1]

    body = page(client.get(URL)).select_one(f"#comment-{comment_id} .comment-body")
    assert body is not None
    assert body.select("script, img, iframe") == []
    for element in body.find_all(True):
        for name, value in element.attrs.items():
            assert not name.startswith("on")
            assert "javascript" not in str(value).lower() and "data:" not in str(value).lower()
    assert danger not in "".join(str(v) for e in body.find_all(True) for v in e.attrs.values()).lower()

    feed = client.get(f"{URL}/comments.atom")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/atom+xml")
    assert b"<script" not in feed.content and b"<img" not in feed.content
    [entry] = ElementTree.fromstring(feed.content).findall(f"{ATOM}entry")
    summary = entry.find(f"{ATOM}summary")
    assert summary is not None and summary.get("type") == "text" and summary.text == payload


def test_another_members_comment_cannot_be_edited_or_deleted(
    make_client: ClientFactory, app_engine: Engine, settings: Settings
) -> None:
    ada_client, eve_client = make_client(), make_client()
    signed_in(ada_client, app_engine, settings.outbox_dir, "ada")
    signed_in(eve_client, app_engine, settings.outbox_dir, "eve")
    comment_id = comment(ada_client, "Mine.").headers["location"].rsplit("-", 1)[1]
    token = csrf(eve_client)

    edit = eve_client.post(f"/comments/{comment_id}/edit", data={"csrf_token": token, "body": "Defaced."})
    delete = eve_client.post(f"/comments/{comment_id}/delete", data={"csrf_token": token})
    missing = eve_client.post("/comments/999999/delete", data={"csrf_token": token})
    assert edit.status_code == 403 and "only change your own comments" in edit.text
    assert delete.status_code == 403
    assert missing.status_code == 404
    assert eve_client.get(URL).text.count("Mine.") == 1 and "Defaced." not in eve_client.get(URL).text
    assert page(eve_client.get(URL)).select(f"#comment-{comment_id} form[action$='/edit']") == []


def test_a_form_without_the_csrf_token_changes_nothing(
    make_client: ClientFactory, app_engine: Engine, settings: Settings
) -> None:
    client = make_client()
    signed_in(client, app_engine, settings.outbox_dir, "ada")
    refused = client.post(f"{URL}/comments", data={"body": "Forged."})
    assert refused.status_code == 403
    assert "Forged." not in client.get(URL).text


def test_a_suspended_member_reads_but_is_told_why_they_cannot_write(
    make_client: ClientFactory, app_engine: Engine, settings: Settings, clock: object
) -> None:
    client = make_client()
    member = signed_in(client, app_engine, settings.outbox_dir, "troll")
    with begin_write(app_engine) as conn:
        write_suspension(conn, member.id, reason="Spam links", now=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))

    shown = page(client.get(URL))
    assert shown.select_one("#comment-form") is None
    notice = shown.select_one(".discussion .suspended").get_text()
    assert "suspended" in notice and "Spam links" in notice

    refused = client.post(f"{URL}/comments", data={"csrf_token": csrf(client), "body": "Still here."})
    assert refused.status_code == 403 and "suspended" in refused.text
    api = client.post(f"/api/v1/papers/{PAPER}/comments", json={"body": "x"}, headers={"X-CSRF-Token": csrf(client)})
    assert api.status_code == 403 and "suspended" in api.json()["detail"]


def test_too_many_comments_get_429_with_a_sentence_and_retry_after(
    make_client: ClientFactory, app_engine: Engine, settings: Settings
) -> None:
    client = make_client(comments_per_member=2)
    signed_in(client, app_engine, settings.outbox_dir, "chatty")
    assert comment(client, "one").status_code == 303
    assert comment(client, "two").status_code == 303
    refused = comment(client, "three")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert "comments" in page(refused).select_one("main").get_text()
    assert "three" not in client.get(URL).text


def test_a_new_member_with_too_many_links_is_told_the_limit(
    make_client: ClientFactory, app_engine: Engine, settings: Settings
) -> None:
    client = make_client()
    signed_in(client, app_engine, settings.outbox_dir, "newbie")
    refused = comment(client, "https://a.example https://b.example https://c.example")
    assert refused.status_code == 422
    assert "new members may post at most 2 links" in refused.text


def test_a_member_without_a_handle_chooses_one_before_commenting(
    make_client: ClientFactory, app_engine: Engine, settings: Settings
) -> None:
    client = make_client()
    signed_in(client, app_engine, settings.outbox_dir, "nohandle", handle=False)
    shown = page(client.get(URL))
    assert shown.select_one("#comment-form") is None
    assert shown.select_one(".discussion a[href^='/account/profile']") is not None

    direct = client.post(f"{URL}/comments", data={"csrf_token": csrf(client), "body": "hi"}, follow_redirects=False)
    assert direct.status_code == 303 and direct.headers["location"].startswith("/account/profile?next=")

    taken = make_member(app_engine, "grace")
    clash = post_form(
        client, f"/account/profile?next={URL}", "#profile-form", handle=taken.handle or "", display_name="X"
    )
    assert clash.status_code == 422 and "taken" in page(clash).select_one(".error-message").get_text()
    saved = post_form(client, f"/account/profile?next={URL}", "#profile-form", handle="Hopper", display_name="G. H.")
    assert saved.status_code == 303 and saved.headers["location"] == URL
    assert comment(client, "Now I can.").status_code == 303


def test_a_moderator_hides_a_reported_comment_and_readers_no_longer_see_it(
    make_client: ClientFactory, app_engine: Engine, settings: Settings
) -> None:
    author, reporter, moderator, reader = make_client(), make_client(), make_client(), make_client()
    signed_in(author, app_engine, settings.outbox_dir, "rude")
    signed_in(reporter, app_engine, settings.outbox_dir, "kind")
    from papertide.domain.accounts import Role

    signed_in(moderator, app_engine, settings.outbox_dir, "mod", role=Role.MODERATOR)
    comment_id = comment(author, "Something rude.").headers["location"].rsplit("-", 1)[1]

    reported = post_form(reporter, URL, f"#comment-{comment_id} details.report-box form", reason="Insulting")
    assert reported.status_code == 303
    assert "moderators will look" in reporter.get(reported.headers["location"]).text
    assert reporter.get("/moderation").status_code == 403

    queue = page(moderator.get("/moderation"))
    entry = queue.select_one(f"#report-{comment_id}")
    assert entry is not None and "Insulting" in entry.get_text() and "Something rude." in entry.get_text()
    hidden = post_form(moderator, "/moderation", f"#report-{comment_id} form[action$='/hide']")
    assert hidden.status_code == 303

    assert "Something rude." not in reader.get(URL).text
    own = page(author.get(URL)).select_one(f"#comment-{comment_id}")
    assert "Something rude." in own.get_text() and "hidden by a moderator" in own.get_text()
    assert "No open reports" in moderator.get("/moderation").text


def test_cards_show_our_comment_count_and_hugging_faces_apart(
    make_client: ClientFactory, app_engine: Engine, settings: Settings
) -> None:
    client = make_client()
    signed_in(client, app_engine, settings.outbox_dir, "ada")
    comment(client, "First.")
    with begin_write(app_engine) as conn:
        stored = get_paper_by_arxiv_id(conn, PAPER)
        assert stored is not None
        conn.execute(
            insert(paper_signals).values(
                paper_id=stored.id,
                source="hf-daily",
                listed_on=dt.date(2025, 1, 2),
                upvotes=3,
                comments=12,
                fetched_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            )
        )
    listed = stored.paper.listing_date
    assert listed is not None
    card = page(client.get(f"/papers/date/{listed.isoformat()}")).select_one(f"#paper-{stored.id} .comment-count")
    assert card is not None and card.get_text() == "1 comment · 12 on HF"
    api = client.get(f"/api/v1/papers/{PAPER}").json()
    assert api["comment_count"] == 1 and api["hugging_face_comment_count"] == 12


def test_the_comments_api_reads_and_posts_with_the_session_and_csrf_header(
    make_client: ClientFactory, app_engine: Engine, settings: Settings
) -> None:
    client, stranger = make_client(), make_client()
    signed_in(client, app_engine, settings.outbox_dir, "ada")
    url = f"/api/v1/papers/{PAPER}/comments"
    assert stranger.post(url, json={"body": "x"}, headers={"X-CSRF-Token": csrf(stranger)}).status_code == 401
    assert client.post(url, json={"body": "no token"}).status_code == 403

    made = client.post(url, json={"body": "Via *API*"}, headers={"X-CSRF-Token": csrf(client)})
    assert made.status_code == 201
    created = made.json()
    assert created["body_html"].strip() == "<p>Via <em>API</em></p>" and created["author"]["url"] == "/u/ada"
    reply = client.post(
        url, json={"body": "Reply", "parent_id": created["id"]}, headers={"X-CSRF-Token": csrf(client)}
    ).json()
    deep = client.post(url, json={"body": "Deep", "parent_id": reply["id"]}, headers={"X-CSRF-Token": csrf(client)})
    assert deep.status_code == 422 and deep.json()["field"] == "parent_id"

    listed = stranger.get(url).json()
    assert listed["count"] == 2 and listed["threads"][0]["replies"][0]["body"] == "Reply"
    assert stranger.get("/api/v1/papers/2501.99999/comments").status_code == 404
    schema = client.get("/api/v1/openapi.json").json()
    assert "CommentOut" in schema["components"]["schemas"] and "/api/v1/submissions" in schema["paths"]


def test_the_submitter_gets_a_mail_when_someone_comments_if_the_setting_is_on(
    make_client: ClientFactory, app_engine: Engine, settings: Settings
) -> None:
    from papertide.store.submissions import insert_submission

    client = make_client(comment_mail_submitter=True)
    submitter = make_member(app_engine, "sub")
    with begin_write(app_engine) as conn:
        stored = get_paper_by_arxiv_id(conn, PAPER)
        assert stored is not None
        insert_submission(
            conn,
            paper_id=stored.id,
            user_id=submitter.id,
            day=dt.date(2026, 11, 28),
            previous=None,
            now=dt.datetime(2026, 11, 28, 8, tzinfo=dt.UTC),
        )
    signed_in(client, app_engine, settings.outbox_dir, "ada")
    before = len(outbox_messages(settings.outbox_dir))
    comment(client, "Nice <b>work</b>.")
    messages = outbox_messages(settings.outbox_dir)
    assert len(messages) == before + 1
    mail = messages[-1]
    assert mail["To"] == "sub@example.org" and "Ada commented on" in mail["Subject"]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "> Nice <b>work</b>." in text and f"/papers/{PAPER}#comment-" in text
    assert mail.get_body(preferencelist=("html",)) is None


def test_no_mail_is_sent_to_the_submitter_by_default(
    make_client: ClientFactory, app_engine: Engine, settings: Settings
) -> None:
    from papertide.store.submissions import insert_submission

    client = make_client()
    submitter = make_member(app_engine, "sub")
    with begin_write(app_engine) as conn:
        stored = get_paper_by_arxiv_id(conn, PAPER)
        assert stored is not None
        insert_submission(
            conn,
            paper_id=stored.id,
            user_id=submitter.id,
            day=dt.date(2026, 11, 28),
            previous=None,
            now=dt.datetime(2026, 11, 28, 8, tzinfo=dt.UTC),
        )
    signed_in(client, app_engine, settings.outbox_dir, "ada")
    before = len(outbox_messages(settings.outbox_dir))
    comment(client, "Quiet.")
    assert len(outbox_messages(settings.outbox_dir)) == before


def test_deleting_ones_own_comment_keeps_the_replies_under_a_placeholder(
    make_client: ClientFactory, app_engine: Engine, settings: Settings
) -> None:
    ada_client, bob_client = make_client(), make_client()
    signed_in(ada_client, app_engine, settings.outbox_dir, "ada")
    signed_in(bob_client, app_engine, settings.outbox_dir, "bob")
    comment_id = comment(ada_client, "To be deleted.").headers["location"].rsplit("-", 1)[1]
    post_form(bob_client, URL, f"#comment-{comment_id} ~ details.reply-box form", body="An answer.")

    deleted = post_form(ada_client, URL, f"#comment-{comment_id} form[action$='/delete']")
    assert deleted.status_code == 303
    shown = page(bob_client.get(URL))
    assert "To be deleted." not in shown.get_text()
    assert "This comment was deleted." in shown.select_one(f"#comment-{comment_id}").get_text()
    assert "An answer." in shown.select_one(".comment-replies").get_text()

    account = page(ada_client.get("/account"))
    assert account.select_one(".account-comments") is not None
    assert account.select_one(".account-profile a[href='/u/ada']") is not None


def test_a_moderator_suspends_the_author_from_the_queue_and_the_author_can_no_longer_post(
    make_client: ClientFactory, app_engine: Engine, settings: Settings
) -> None:
    from papertide.domain.accounts import Role

    author, reporter, moderator = make_client(), make_client(), make_client()
    signed_in(author, app_engine, settings.outbox_dir, "spammer")
    signed_in(reporter, app_engine, settings.outbox_dir, "kind")
    signed_in(moderator, app_engine, settings.outbox_dir, "mod", role=Role.MODERATOR)
    comment_id = comment(author, "Buy now.").headers["location"].rsplit("-", 1)[1]
    post_form(reporter, URL, f"#comment-{comment_id} details.report-box form", reason="Spam")

    suspended = post_form(moderator, "/moderation", f"#report-{comment_id} form[action$='/suspend']", reason="Spam")
    assert suspended.status_code == 303
    refused = author.post(f"{URL}/comments", data={"csrf_token": csrf(author), "body": "Again."})
    assert refused.status_code == 403 and "suspended" in refused.text
    assert "Spam" in page(author.get(URL)).select_one(".discussion .suspended").get_text()
    assert (
        reporter.post(
            f"/moderation/members/{1}/suspend", data={"csrf_token": csrf(reporter), "reason": "x"}
        ).status_code
        == 403
    )
