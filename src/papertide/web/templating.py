"""Jinja2 environment for pages: autoescaped, with the operator's template directory first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader, select_autoescape

from papertide.config import Settings
from papertide.domain.latex import render_tex
from papertide.domain.limits import clean_output
from papertide.domain.snippet import highlight, make_snippet
from papertide.web.community_view import comment_counts, member_activity, submission_of
from papertide.web.security import csrf_token, session_user
from papertide.web.user_votes import has_upvoted

PACKAGE_TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True, slots=True)
class Site:
    """What pages say about the site itself: the ``site`` global of every template.

    Templates (the operator's overrides too) read ``site.name`` and the like from here, not
    from the settings, so a page sees only what it may show.
    """

    name: str
    base_url: str
    login_link_minutes: int
    digest_pending_days: int


def site_from_settings(settings: Settings) -> Site:
    """The ``site`` global of an app's pages."""
    return Site(
        name=settings.site_name,
        base_url=settings.base_url.rstrip("/"),
        login_link_minutes=settings.login_link_minutes,
        digest_pending_days=settings.digest_pending_days,
    )


def format_date(value: dt.date | dt.datetime | None) -> str:
    """Dates as '27 Nov 2026', the way people read them."""
    if value is None:
        return ""
    return f"{value.day} {value:%b %Y}"


def format_authors(authors: tuple[str, ...] | list[str], limit: int = 6) -> str:
    """The first few authors, then how many more."""
    names = [render_tex(name) for name in authors]
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"


def make_environment(override_dir: Path | None) -> Environment:
    """Loader chain: the override directory, then the package; ``default:`` reaches the package."""
    package = PackageLoader("papertide.web", "templates")
    loaders: list[Any] = []
    if override_dir is not None:
        loaders.append(FileSystemLoader(str(override_dir)))
    loaders.extend([package, PrefixLoader({"default": package})])
    environment = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        # Text stored before the ingest checks, or typed by a person, never makes a page ill-formed.
        finalize=clean_output,
    )
    environment.filters["date"] = format_date
    environment.filters["authors"] = format_authors
    environment.filters["tex"] = render_tex
    environment.globals["snippet"] = make_snippet
    environment.globals["highlight"] = highlight
    # Accounts and votes (issue 5): every page can carry forms and show the signed-in state.
    environment.globals["csrf_token"] = csrf_token
    environment.globals["session_user"] = session_user
    environment.globals["has_upvoted"] = has_upvoted
    # Community (issue 11): comment counts and "submitted by" on every paper card.
    environment.globals["comment_counts"] = comment_counts
    environment.globals["submission_of"] = submission_of
    environment.globals["member_activity"] = member_activity
    return environment


def make_templates(override_dir: Path | None, site: Site) -> Jinja2Templates:
    """Starlette's template renderer over papertide's environment, with ``site`` set for every page."""
    environment = make_environment(override_dir)
    environment.globals["site"] = site
    return Jinja2Templates(env=environment)
