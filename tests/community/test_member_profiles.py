"""Member profiles: handles unique whatever the case, profile pages, and `papertide users`."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from papertide.community.comments import Discussion
from papertide.community.members import Members
from papertide.domain.accounts import Role
from papertide.domain.errors import InvalidInput, NotFound, RateLimited, Suspended
from papertide.store.accounts import get_user_by_email, write_login
from papertide.store.engine import begin_write
from papertide.store.members import write_suspension
from tests.community.community_data import NOW, Clock, MakeMember


@pytest.fixture
def members(engine: Engine, clock: Clock) -> Members:
    return Members(engine, clock)


def test_a_member_chooses_a_handle_and_display_name_at_first_sign_in(engine: Engine, members: Members) -> None:
    with begin_write(engine) as conn:
        user = write_login(conn, "ada@example.org", NOW)
    assert user.handle is None and user.shown_name == f"member {user.id}"
    chosen = members.choose_profile(user.id, handle="Ada", display_name=" Ada  Lovelace ")
    assert (chosen.handle, chosen.display_name, chosen.shown_name) == ("ada", "Ada Lovelace", "Ada Lovelace")
    assert members.get_by_handle("ADA").id == user.id


def test_a_handle_taken_in_another_case_is_refused(members: Members, make_member: MakeMember) -> None:
    make_member("ada")
    bob = make_member("bob")
    with pytest.raises(InvalidInput) as refused:
        members.choose_profile(bob.id, handle="ADA", display_name="Bob")
    assert refused.value.field == "handle" and "taken" in refused.value.reason
    assert members.get(bob.id).handle == "bob"


def test_reserved_and_malformed_handles_are_refused(members: Members, make_member: MakeMember) -> None:
    bob = make_member("bob")
    for handle in ("admin", "static", "a b", "x"):
        with pytest.raises(InvalidInput):
            members.choose_profile(bob.id, handle=handle, display_name="Bob")


def test_profile_changes_are_limited_and_closed_to_suspended_members(
    engine: Engine, members: Members, make_member: MakeMember
) -> None:
    bob = make_member("bob")
    for n in range(5):
        members.choose_profile(bob.id, handle=f"bob-{n}", display_name="Bob")
    with pytest.raises(RateLimited):
        members.choose_profile(bob.id, handle="bob-again", display_name="Bob")
    with begin_write(engine) as conn:
        write_suspension(conn, bob.id, reason="", now=NOW)
    with pytest.raises(Suspended):
        members.choose_profile(bob.id, handle="bob-free", display_name="Bob")


def test_a_member_page_shows_comments_and_only_public_collections(
    engine: Engine, members: Members, make_member: MakeMember, papers: dict[str, int], clock: Clock
) -> None:
    from papertide.community.collections import Collections

    ada = make_member("ada")
    Discussion(engine, clock=clock).post(ada.id, papers["2611.00001"], "A comment")
    shelf = Collections(engine, clock=clock)
    shelf.create(ada.id, "Public one", is_public=True)
    shelf.create(ada.id, "Private one")
    page = members.read_page("ada")
    assert [c.body for c in page.comments] == ["A comment"]
    assert [c.title for c in page.collections] == ["Public one"]
    assert page.papers[papers["2611.00001"]].paper.arxiv_id == "2611.00001"
    with pytest.raises(NotFound):
        members.read_page("nobody")


def run_cli(database_url: str, *args: str) -> tuple[int, str]:

    from papertide.cli import app

    result = CliRunner().invoke(app, list(args), env={"PAPERTIDE_DATABASE_URL": database_url})
    return result.exit_code, result.output


def test_the_operator_grants_and_revokes_roles_and_suspends_from_the_command_line(
    engine: Engine, database_url: str, make_member: MakeMember
) -> None:
    make_member("ada")
    code, output = run_cli(database_url, "users", "grant", "moderator", "ADA@example.org")
    assert code == 0 and "is now a moderator" in output
    code, output = run_cli(database_url, "users", "grant", "moderator", "ada@example.org")
    assert code == 0 and "is already a moderator" in output
    with engine.connect() as conn:
        member = get_user_by_email(conn, "ada@example.org")
    assert member is not None and member.role is Role.MODERATOR
    code, output = run_cli(database_url, "users", "suspend", "ada@example.org", "--reason", "spam")
    assert code == 0 and "now suspended" in output
    code, output = run_cli(database_url, "users", "list", "--suspended", "--json")
    assert code == 0 and '"suspension_reason": "spam"' in output
    code, output = run_cli(database_url, "users", "revoke", "moderator", "ada@example.org")
    assert code == 0 and "no longer a moderator" in output
    code, output = run_cli(database_url, "users", "unsuspend", "ada@example.org")
    assert code == 0 and "may write again" in output
    with engine.connect() as conn:
        member = get_user_by_email(conn, "ada@example.org")
    assert member is not None and member.role is Role.MEMBER and not member.is_suspended


def test_the_command_line_names_an_unknown_member_or_role(database_url: str, make_member: MakeMember) -> None:
    assert run_cli(database_url, "users", "grant", "moderator", "ghost@example.org")[0] == 1
    assert run_cli(database_url, "users", "grant", "emperor", "ghost@example.org")[0] == 2
    assert run_cli(database_url, "users", "suspend", "ghost@example.org")[0] == 1
