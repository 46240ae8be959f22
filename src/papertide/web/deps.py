"""Request dependencies as short Annotated aliases (ServicesDep, ConnDep, SearchDep, ...).

Each reads an object create_app built once at start-up (the ``Services`` of services.py, kept
on ``app.state``); none is built inside a request.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy import Connection, Engine

from papertide.config import Settings
from papertide.digest.compose import MailComposer
from papertide.mail.transport import MailTransport
from papertide.search.query import SearchService
from papertide.services import Services


def get_services(request: Request) -> Services:
    """The services the app was created with (services.py): search, lists, mail, digest rules."""
    services: Services = request.app.state.services
    return services


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


def get_search(services: Annotated[Services, Depends(get_services)]) -> SearchService:
    """The app's search service."""
    return services.search


def get_composer(services: Annotated[Services, Depends(get_services)]) -> MailComposer:
    """The app's composer of digest, confirmation and preferences mails (its templates compiled once)."""
    return services.composer


def get_transport(services: Annotated[Services, Depends(get_services)]) -> MailTransport:
    """A mail transport for one request's mail: SMTP when configured, else the file outbox.

    Opening it connects; building it does not, so requests that send nothing cost nothing.
    """
    return services.open_transport()


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
ConnDep = Annotated[Connection, Depends(get_conn)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
SearchDep = Annotated[SearchService, Depends(get_search)]
ComposerDep = Annotated[MailComposer, Depends(get_composer)]
TransportDep = Annotated[MailTransport, Depends(get_transport)]
