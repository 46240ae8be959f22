"""Jinja2 environment for pages: autoescaped, with the operator's template directory first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader, select_autoescape
from markupsafe import Markup

from papertide.config import Settings
from papertide.domain.author_match import match_authors
from papertide.domain.latex import render_tex
from papertide.domain.limits import clean_output
from papertide.domain.linked_text import render_linked_text
from papertide.domain.links import http_link
from papertide.domain.plain_text import scrub_text
from papertide.domain.snippet import highlight, make_snippet
from papertide.web.account_digest import is_digest_subscriber
from papertide.web.community_view import comment_counts, member_activity, submission_of
from papertide.web.paper_extras import (
    author_links,
    collections_with_paper,
    followed_authors,
    listing_extras,
    my_collections,
)
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


def format_authors(authors: tuple[str, ...] | list[str], limit: int = 6, filters: Sequence[str] = ()) -> str:
    """The first few authors, then how many more; an author an ``author:`` filter matched is always shown.

    "A, B, C, D, E, F, … Ada Lovelace, and 5 more": a search for an author lists papers whose
    author lists are cut, and the reader should see why each one matched.
    """
    names = [render_tex(name) for name in authors]
    if len(names) <= limit:
        return ", ".join(names)
    matched = [position for position in match_authors(authors, filters) if position >= limit]
    shown = ", ".join(names[:limit])
    if matched:
        shown += ", … " + ", ".join(names[position] for position in matched)
    rest = len(names) - limit - len(matched)
    if not rest:
        return shown
    return shown + ("," if matched else "") + f" and {rest} more"


def _printable(value: Any) -> Any:
    """What every ``{{ value }}`` prints: encodable (no lone surrogates) and XML-legal (issue 9).

    Text stored before the ingest checks, or typed by a person, never makes a page fail to
    encode or a page or feed ill-formed.
    """
    return clean_output(_encodable(value))


def _encodable(value: Any) -> Any:
    """Every printed value with lone surrogates replaced (issue 9).

    Input is checked at every boundary now, but a row stored by an older version (a JSON
    column keeps ``\\ud800`` escapes) must not make its page fail to encode for ever.
    """
    if isinstance(value, Markup):
        return Markup(scrub_text(value))
    if isinstance(value, str):
        return scrub_text(value)
    return value


def link_text(text: str) -> Markup:
    """Escaped text with its http(s) addresses as links (domain/linked_text.py), safe to print as is."""
    return Markup(render_linked_text(text))


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
        finalize=_printable,
        # Compiled once per process, not checked on disk again: a page of 30 cards includes ~200
        # templates, each a stat() with auto_reload (issue 9, bench/load.py). Operators restart
        # after editing PAPERTIDE_TEMPLATES_DIR, as for the mail templates (digest/compose.py).
        auto_reload=False,
    )
    environment.filters["date"] = format_date
    environment.filters["authors"] = format_authors
    environment.filters["tex"] = render_tex
    # Every stored URL rendered as href goes through this: http(s) only, else no link (issue 9).
    environment.filters["http_link"] = http_link
    environment.globals["snippet"] = make_snippet
    environment.globals["highlight"] = highlight
    # Accounts and votes (issue 5): every page can carry forms and show the signed-in state.
    environment.globals["csrf_token"] = csrf_token
    environment.globals["session_user"] = session_user
    environment.globals["has_upvoted"] = has_upvoted
    # Paper extras (issue 11): author links, the member's collections, followed authors, http(s)-only links.
    environment.globals["author_links"] = author_links
    environment.globals["my_collections"] = my_collections
    environment.globals["collections_with_paper"] = collections_with_paper
    environment.globals["followed_authors"] = followed_authors
    environment.globals["listing_extras"] = listing_extras
    # The account as the hub (issue 10): the banner hides itself for subscribers; abstracts link URLs.
    environment.globals["is_digest_subscriber"] = is_digest_subscriber
    environment.filters["linked"] = link_text
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
