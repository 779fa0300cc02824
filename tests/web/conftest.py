"""The website in-process against this run's real databases and Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from libs.common.settings import Settings
from services.web.app import create_app
from tests.conftest import databases_at_head, settings_for_run
from tests.web.site import WebClient


@pytest.fixture(scope="session")
def migrated(run_id: str, local_servers: object) -> Iterator[Settings]:
    """The website tests' own databases: an upload must find the track these tests seeded,
    not a copy of the same clip that another package's tests submitted before them."""
    with databases_at_head(settings_for_run(f"{run_id}web")) as ready:
        yield ready


@pytest.fixture(scope="session")
def web_settings(migrated: Settings) -> Settings:
    return migrated.model_copy(update={"website_secret": "web-test-secret"})


@asynccontextmanager
async def open_site(settings: Settings) -> AsyncIterator[tuple[FastAPI, WebClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield app, WebClient(http)


@pytest.fixture
async def site(web_settings: Settings) -> AsyncIterator[WebClient]:
    """A visitor with an empty cookie jar on a freshly built app."""
    async with open_site(web_settings) as (_app, client):
        yield client


from tests.web.stack import browse_site, web_stack, web_stack_settings  # noqa: E402, F401
