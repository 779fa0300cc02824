"""Each database migrates up from empty, down to nothing, and up again; models match."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from libs.common import migrations
from libs.common.db import Database, database_url
from libs.common.models import METADATA
from libs.common.settings import Settings
from tests.conftest import settings_for_run

EXPECTED_TABLES = {
    Database.APP: {"account", "application", "source", "format", "stats", "stats_lookups"},
    Database.FINGERPRINT: {"track", "fingerprint", "track_mbid", "meta", "fpindex_changelog"},
    Database.INGEST: {"submission", "submission_result", "fingerprint_source"},
    Database.MUSICBRAINZ: {"recording", "recording_gid_redirect", "track", "replication_control"},
}
VERSION_TABLES = {"alembic_version", migrations.version_table(Database.MUSICBRAINZ)}


@pytest.fixture(scope="module")
def scratch(run_id: str, local_servers: object) -> Iterator[Settings]:
    settings = settings_for_run(f"{run_id}m")
    for db in Database:
        asyncio.run(migrations.create_database(database_url(settings, db)))
    yield settings
    for db in Database:
        asyncio.run(migrations.drop_database(database_url(settings, db)))


def _inspect(settings: Settings, db: Database) -> tuple[set[str], list[object]]:
    """The tables present, and what differs between the models and the live schema."""

    async def run() -> tuple[set[str], list[object]]:
        engine = create_async_engine(database_url(settings, db))
        try:
            async with engine.connect() as conn:

                def look(sync: Connection) -> tuple[set[str], list[object]]:
                    if db is Database.MUSICBRAINZ:
                        # Its tables come from MusicBrainz's SQL scripts: no models to compare.
                        return set(inspect(sync).get_table_names(schema="musicbrainz")), []
                    tables = set(inspect(sync).get_table_names()) - VERSION_TABLES
                    diff = compare_metadata(MigrationContext.configure(sync), METADATA[db])
                    return tables, diff

                return await conn.run_sync(look)
        finally:
            await engine.dispose()

    return asyncio.run(run())


@pytest.mark.parametrize("db", list(Database), ids=lambda d: d.value)
def test_upgrade_downgrade_upgrade(scratch: Settings, db: Database) -> None:
    migrations.upgrade(scratch, db)
    tables, diff = _inspect(scratch, db)
    assert EXPECTED_TABLES[db] <= tables
    assert diff == [], f"models and migrations disagree: {diff}"
    assert migrations.current(scratch, db) is not None

    migrations.downgrade(scratch, db)
    tables, _ = _inspect(scratch, db)
    assert tables == set()
    assert migrations.current(scratch, db) is None

    migrations.upgrade(scratch, db)
    tables, _ = _inspect(scratch, db)
    assert EXPECTED_TABLES[db] <= tables


def test_fingerprints_are_int4_arrays(migrated: Settings) -> None:
    """A dump of acoustid.org's fingerprint table restores into ours unchanged."""

    async def run() -> str:
        engine = create_async_engine(database_url(migrated, Database.FINGERPRINT))
        try:
            async with engine.connect() as conn:
                row = await conn.execute(
                    text(
                        "SELECT udt_name FROM information_schema.columns "
                        "WHERE table_name = 'fingerprint' AND column_name = 'fingerprint'"
                    )
                )
                return str(row.scalar_one())
        finally:
            await engine.dispose()

    assert asyncio.run(run()) == "_int4"
