"""Request dependencies as short Annotated aliases (ServicesDep, ConnDep, SettingsDep, ...)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy import Connection, Engine

from papertide.config import Settings
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


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
ConnDep = Annotated[Connection, Depends(get_conn)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
