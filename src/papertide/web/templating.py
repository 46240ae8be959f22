"""Jinja2 environment for pages: autoescaped, with the operator's template directory first."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader, select_autoescape

from papertide.domain.latex import render_tex
from papertide.domain.snippet import highlight, make_snippet
from papertide.web.security import csrf_token, session_user
from papertide.web.viewer import has_upvoted

PACKAGE_TEMPLATES = Path(__file__).parent / "templates"


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
    return environment


def make_templates(override_dir: Path | None) -> Jinja2Templates:
    """Starlette's template renderer over papertide's environment."""
    return Jinja2Templates(env=make_environment(override_dir))
