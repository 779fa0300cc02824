"""The API in-process against this run's real databases, Redis and NATS.

Rate limits are raised far above what the tests send so only the rate-limit tests (which
build their own app with tiny limits) ever see error 14.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from nats.js.errors import NotFoundError

from libs.chromaprint_cy.codec import encode_fingerprint
from libs.common.apikeys import generate_api_key
from libs.common.db import Database, Databases
from libs.common.models.app import Account, Application
from libs.common.nats import SUBMISSIONS, connect
from libs.common.settings import Settings
from services.api.app import create_app

CLUSTER_SECRET = "test-cluster-secret"


@dataclass(frozen=True)
class Keys:
    client: str
    user: str
    application_id: int
    account_id: int


def api_settings(base: Settings, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "cluster_secret": CLUSTER_SECRET,
        "rate_limit_ip": 100000.0,
        "rate_limit_application": 100000.0,
        "rate_limit_global": 100000.0,
        "rate_limit_invalid_key": 100000.0,
    }
    values.update(overrides)
    return base.model_copy(update=values)


async def create_keys(settings: Settings, active: bool = True) -> Keys:
    databases = Databases(settings)
    try:
        async with databases.session(Database.APP) as session:
            account = Account(name="Test user", apikey=generate_api_key())
            session.add(account)
            await session.flush()
            application = Application(
                name="Test app",
                version="1.0",
                apikey=generate_api_key(),
                account_id=account.id,
                active=active,
            )
            session.add(application)
            await session.commit()
            return Keys(application.apikey, account.apikey, application.id, account.id)
    finally:
        await databases.dispose()


@asynccontextmanager
async def running(
    settings: Settings, customise: Callable[[FastAPI], None] = lambda _: None
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """An app with its lifespan started and NATS connected, and a client talking to it;
    ``customise`` changes the app before it starts."""
    app = create_app(settings)
    customise(app)
    async with app.router.lifespan_context(app):
        resources = app.state.resources
        for _ in range(100):
            if resources.nats is not None and resources.nats.is_connected:
                break
            await asyncio.sleep(0.05)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app, client


@pytest.fixture(scope="session")
def settings_api(migrated: Settings, nats_streams: Settings) -> Settings:
    return api_settings(migrated)


@pytest.fixture(scope="session")
async def api(settings_api: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running(settings_api) as pair:
        yield pair


@pytest.fixture(scope="session")
def client(api: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return api[1]


@pytest.fixture(scope="session")
async def keys(settings_api: Settings) -> Keys:
    return await create_keys(settings_api)


def make_fingerprint(seed: int, size: int = 300) -> str:
    """A compressed algorithm-1 fingerprint of random items, as fpcalc would print one."""
    rng = np.random.default_rng(seed)
    return encode_fingerprint(rng.integers(0, 2**32, size, dtype=np.uint32))


async def stream_messages(settings: Settings) -> list[tuple[bytes, dict[str, str]]]:
    """Every message still on this run's SUBMISSIONS stream (no worker runs in these tests)."""
    nc = await connect(settings, "tests")
    try:
        js = nc.jetstream()
        name = settings.stream(SUBMISSIONS)
        state = (await js.stream_info(name)).state
        messages = []
        for seq in range(state.first_seq, state.last_seq + 1):
            with contextlib.suppress(NotFoundError):
                msg = await js.get_msg(name, seq)
                messages.append((msg.data or b"", dict(msg.headers or {})))
        return messages
    finally:
        await nc.close()


@pytest.fixture(scope="session")
async def world(
    settings_api: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Any]:
    from tests.api.world import world

    async with world(settings_api, tmp_path_factory.mktemp("index") / "data") as w:
        yield w
