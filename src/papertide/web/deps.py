"""Request dependencies as short Annotated aliases (ConnDep, SettingsDep, SearchDep, ...).

Each reads an object create_app built once at start-up from ``app.state``; none is built
inside a request.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy import Connection, Engine

from papertide.config import Settings
from papertide.digest.compose import MailComposer
from papertide.mail.transport import MailTransport, make_transport
from papertide.search.query import SearchService


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    """The app's database engine."""
    engine: Engine = request.app.state.engine
    return engine


def get_templates(request: Request) -> Jinja2Templates:
    """The app's template renderer."""
    templates: Jinja2Templates = request.app.state.templates
    return templates


def get_conn(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Connection]:
    """A read connection for one request, in a transaction that is never committed."""
    with engine.connect() as conn:
        yield conn


def get_search(request: Request) -> SearchService:
    """The app's search service."""
    service: SearchService = request.app.state.search
    return service


def get_composer(request: Request) -> MailComposer:
    """The app's composer of digest, confirmation and preferences mails (its templates compiled once)."""
    composer: MailComposer = request.app.state.composer
    return composer


def get_transport(settings: Annotated[Settings, Depends(get_settings)]) -> MailTransport:
    """A mail transport for one request's mail: SMTP when configured, else the file outbox.

    Opening it connects; building it does not, so requests that send nothing cost nothing.
    """
    return make_transport(settings.smtp_url.get_secret_value(), settings.outbox_dir)


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
ConnDep = Annotated[Connection, Depends(get_conn)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
SearchDep = Annotated[SearchService, Depends(get_search)]
ComposerDep = Annotated[MailComposer, Depends(get_composer)]
TransportDep = Annotated[MailTransport, Depends(get_transport)]
