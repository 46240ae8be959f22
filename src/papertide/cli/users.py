"""`papertide users list | grant | revoke | suspend | unsuspend`: the operator's view of members (issue 11).

Thin over community/members.py. Exit 0: done (also when nothing had to change, which is said);
1: no such member; 2: bad input.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.markup import escape

from papertide.cli.context import console, fail, invocation
from papertide.cli.output import print_json_line, print_rows
from papertide.community.members import grant_role, suspend_by_email, unsuspend_by_email
from papertide.domain.accounts import Role, User
from papertide.domain.errors import InvalidInput, NotFound
from papertide.store.accounts import get_user_by_email
from papertide.store.members import list_members

app = typer.Typer(help="Community members: roles and suspensions.", no_args_is_help=True)
EXIT_NOT_FOUND = 1
EXIT_BAD_INPUT = 2
GRANTABLE = (Role.MODERATOR.value, Role.ADMIN.value)


def _role(name: str) -> Role:
    if name not in GRANTABLE:
        raise fail(f"ROLE must be one of {', '.join(GRANTABLE)}, got {name!r}", EXIT_BAD_INPUT)
    return Role(name)


def _row(member: User) -> dict[str, object]:
    return {
        "id": member.id,
        "email": member.email,
        "handle": member.handle,
        "display_name": member.display_name,
        "role": member.role.value,
        "suspended_at": member.suspended_at.isoformat() if member.suspended_at else None,
        "suspension_reason": member.suspension_reason,
        "created_at": member.created_at.isoformat(),
    }


@app.command("list")
def list_command(
    ctx: typer.Context,
    role: Annotated[str | None, typer.Option("--role", help="Only members with this role.")] = None,
    suspended: Annotated[bool, typer.Option("--suspended", metavar="", help="Only suspended members.")] = False,
    as_json: Annotated[bool, typer.Option("--json", metavar="", help="Print JSON lines, one member each.")] = False,
) -> None:
    """List members (id order), optionally by role or only the suspended ones."""
    roles = [Role(role)] if role in {r.value for r in Role} else []
    if role is not None and not roles:
        raise fail(f"--role must be one of {', '.join(r.value for r in Role)}, got {role!r}", EXIT_BAD_INPUT)
    engine = invocation(ctx).engine()
    rows: list[tuple[str, ...]] = []
    offset = 0
    while True:
        with engine.connect() as conn:
            page = list_members(conn, roles=roles, suspended=True if suspended else None, limit=1000, offset=offset)
        if not page:
            break
        offset += len(page)
        for member in page:
            if as_json:
                print_json_line(_row(member))
            else:
                when = member.suspended_at.strftime("%Y-%m-%d") if member.suspended_at else "-"
                rows.append(
                    (
                        member.email,
                        f"@{member.handle}" if member.handle else "-",
                        member.display_name or "-",
                        member.role.value,
                        when,
                    )
                )
    if not as_json:
        print_rows(("email", "handle", "name", "role", "suspended"), rows)


@app.command("grant")
def grant_command(
    ctx: typer.Context,
    role: Annotated[str, typer.Argument(metavar="ROLE", help="moderator or admin.")],
    email: Annotated[
        str, typer.Argument(metavar="EMAIL", help="The member's address (they must have signed in once).")
    ],
) -> None:
    """Make a member a moderator (or admin): they see the report queue, hide comments, suspend members."""
    wanted = _role(role)
    try:
        changed = grant_role(invocation(ctx).engine(), email, wanted)
    except NotFound as error:
        raise fail(str(error), EXIT_NOT_FOUND) from None
    console.print(f"{escape(email)} is {'now' if changed else 'already'} a {wanted.value}.")


@app.command("revoke")
def revoke_command(
    ctx: typer.Context,
    role: Annotated[str, typer.Argument(metavar="ROLE", help="moderator or admin.")],
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The member's address.")],
) -> None:
    """Take a role back: the member becomes an ordinary member."""
    wanted = _role(role)
    engine = invocation(ctx).engine()
    try:
        with engine.connect() as conn:
            member = get_user_by_email(conn, email.strip().lower())
        if member is None:
            raise NotFound(f"no member with the address {email.strip()!r}")
        if member.role is not wanted:
            console.print(f"{escape(email)} is not a {wanted.value} (role: {member.role.value}); nothing changed.")
            return
        grant_role(engine, email, Role.MEMBER)
    except NotFound as error:
        raise fail(str(error), EXIT_NOT_FOUND) from None
    console.print(f"{escape(email)} is no longer a {wanted.value}.")


@app.command("suspend")
def suspend_command(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The member's address.")],
    reason: Annotated[str, typer.Option("--reason", help="Shown to the member when they try to write.")] = "",
) -> None:
    """Suspend a member: they can still sign in and read, but not post, submit, collect or follow."""
    try:
        changed = suspend_by_email(invocation(ctx).engine(), email, reason=reason, now=dt.datetime.now(dt.UTC))
    except NotFound as error:
        raise fail(str(error), EXIT_NOT_FOUND) from None
    except InvalidInput as error:
        raise fail(str(error), EXIT_BAD_INPUT) from None
    console.print(f"{escape(email)} is {'now' if changed else 'already'} suspended.")


@app.command("unsuspend")
def unsuspend_command(
    ctx: typer.Context, email: Annotated[str, typer.Argument(metavar="EMAIL", help="The member's address.")]
) -> None:
    """Lift a member's suspension."""
    try:
        changed = unsuspend_by_email(invocation(ctx).engine(), email)
    except NotFound as error:
        raise fail(str(error), EXIT_NOT_FOUND) from None
    console.print(f"{escape(email)} {'may write again' if changed else 'was not suspended'}.")
