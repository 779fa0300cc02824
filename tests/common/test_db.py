"""Reads on the autocommit reader engine, which has no pre-ping: a dead connection is retried."""

from __future__ import annotations

import asyncpg
from sqlalchemy import text

from libs.common.db import Database, Databases, database_url, replica_url
from libs.common.settings import Settings


async def _terminate_backends(settings: Settings, db: Database) -> int:
    url = database_url(settings, db).replace("postgresql+asyncpg", "postgresql")
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(url)
    try:
        killed: int = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        return killed
    finally:
        await conn.close()


async def test_fetch_survives_the_server_closing_its_connections(migrated: Settings) -> None:
    databases = Databases(migrated)
    try:
        assert await databases.fetch(Database.FINGERPRINT, text("SELECT 1")) == [(1,)]
        assert await _terminate_backends(migrated, Database.FINGERPRINT) >= 1
        assert await databases.fetch(Database.FINGERPRINT, text("SELECT 2")) == [(2,)]
    finally:
        await databases.dispose()


def test_reads_go_to_the_replicas_only_when_asked() -> None:
    settings = Settings(  # type: ignore[call-arg]
        app_database_url="postgresql+asyncpg://p/app",
        app_database_url_ro="postgresql+asyncpg://r/app",
        fingerprint_database_url="postgresql+asyncpg://p/fp",
    )
    assert replica_url(settings, Database.APP) == "postgresql+asyncpg://r/app"
    assert replica_url(settings, Database.FINGERPRINT) == "postgresql+asyncpg://p/fp"
    assert replica_url(settings, Database.MUSICBRAINZ) == "postgresql+asyncpg://r/app"
    assert Databases(settings).reader_url(Database.APP) == "postgresql+asyncpg://p/app"
    assert (
        Databases(settings, read_replicas=True)
        .reader_url(Database.APP)
        .startswith("postgresql+asyncpg://r/")
    )
