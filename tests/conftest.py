"""Fixtures shared by every integration test: real servers, private databases and names.

Each test session gets databases named ``test_<run>_<db>``, its own NATS stream prefix and
Redis key prefix, and free ports, so it never collides with a running ``make dev`` stack or
another run; the databases are dropped at the end.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.common import localservers, migrations
from libs.common.db import Database, database_url
from libs.common.nats import delete_streams
from libs.common.settings import DEFAULT_PG, Settings

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ACOUSTID_SHARED_DIR", REPO.parent / "shared"))


class Stamp:
    """A middleware that adds ``x-stamp: 1`` to every answer: added to an app the public way,
    it shows which answers pass through the app's middleware."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-stamp", b"1")]
            await send(message)

        await self.app(scope, receive, stamped)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def closed_port_url(scheme: str) -> str:
    """A URL at a port where nothing listens, to prove a dependency's failure is reported."""
    return f"{scheme}://127.0.0.1:{free_port()}"


def settings_for_run(run: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "app_database_url": f"{DEFAULT_PG}/test_{run}_app",
        "fingerprint_database_url": f"{DEFAULT_PG}/test_{run}_fingerprint",
        "ingest_database_url": f"{DEFAULT_PG}/test_{run}_ingest",
        "nats_prefix": f"test{run}.",
        "redis_prefix": f"test:{run}:",
        "website_secret": f"test-secret-{run}",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as ``ACOUSTID_*`` variables, for processes the tests start."""
    env = {}
    for name, value in settings.model_dump().items():
        text = ",".join(value) if isinstance(value, list) else str(value)
        env[f"ACOUSTID_{name.upper()}"] = text
    return env


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def local_servers() -> Iterator[list[localservers.Server]]:
    started = localservers.ensure(Settings(), REPO / ".dev")
    yield started
    localservers.stop(started)


@pytest.fixture(scope="session")
def settings(run_id: str, local_servers: list[localservers.Server]) -> Settings:
    return settings_for_run(run_id)


@pytest.fixture(scope="session")
def migrated(settings: Settings) -> Iterator[Settings]:
    """The test databases created and at head; dropped when the session ends.

    Created before any is migrated: the MusicBrainz tables share the app database.
    """
    urls = {database_url(settings, db) for db in Database}
    for url in urls:
        asyncio.run(migrations.drop_database(url))
        asyncio.run(migrations.create_database(url))
    for db in Database:
        migrations.upgrade(settings, db)
    yield settings
    for url in urls:
        asyncio.run(migrations.drop_database(url))


@pytest.fixture(scope="session")
async def nats_streams(settings: Settings) -> AsyncIterator[Settings]:
    """Deletes this run's streams at the end, whoever created them."""
    yield settings
    await delete_streams(settings)


@pytest.fixture(scope="session")
def sample_dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's sample MusicBrainz dump (``mbdump.tar.bz2``)."""
    from libs.common.musicbrainz.sample import write_sample

    return write_sample(tmp_path_factory.mktemp("mbdump"))


@pytest.fixture(scope="session")
def musicbrainz(migrated: Settings, sample_dump: Path) -> Settings:
    """The migrated databases with the sample dump imported into the MusicBrainz tables."""
    import io

    from libs.common.musicbrainz.importer import import_dumps

    url = database_url(migrated, Database.MUSICBRAINZ)
    asyncio.run(import_dumps(url, [sample_dump], io.StringIO()))
    return migrated
