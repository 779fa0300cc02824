"""Alembic, one environment per database, driven from code rather than an ``alembic.ini``.

One script directory serves the databases: each has its own ``versions/<db>`` chain and its
own version table in its own database, so they upgrade independently (and may live on
different servers), while ``env.py`` exists once. The MusicBrainz chain keeps its version in
``musicbrainz_alembic_version`` because by default it shares the app database.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from libs.common.db import Database, database_url
from libs.common.settings import Settings

HERE = Path(__file__).parent
VERSION_TABLES = {Database.MUSICBRAINZ: "musicbrainz_alembic_version"}


def version_table(db: Database) -> str:
    return VERSION_TABLES.get(db, "alembic_version")


def alembic_config(settings: Settings, db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("version_locations", str(HERE / "versions" / db.value))
    config.set_main_option("path_separator", "os")
    config.attributes["database"] = db
    config.attributes["url"] = database_url(settings, db)
    config.attributes["version_table"] = version_table(db)
    return config


def upgrade(settings: Settings, db: Database, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings, db), revision)


def downgrade(settings: Settings, db: Database, revision: str = "base") -> None:
    command.downgrade(alembic_config(settings, db), revision)


def current(settings: Settings, db: Database) -> str | None:
    async def read() -> str | None:
        engine = create_async_engine(database_url(settings, db))
        try:
            async with engine.connect() as conn:

                def revision(sync: Connection) -> str | None:
                    opts = {"version_table": version_table(db)}
                    return MigrationContext.configure(sync, opts=opts).get_current_revision()

                return await conn.run_sync(revision)
        finally:
            await engine.dispose()

    return asyncio.run(read())


async def create_database(url: str) -> bool:
    """Creates the database ``url`` names unless it exists; True when it was created."""
    target = make_url(url)
    name = target.database
    assert name, f"no database name in {url}"
    admin = create_async_engine(
        target.set(database="postgres"), isolation_level="AUTOCOMMIT", pool_size=1
    )
    try:
        async with admin.connect() as conn:
            exists = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if exists:
                return False
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
            return True
    finally:
        await admin.dispose()


async def drop_database(url: str) -> None:
    target = make_url(url)
    admin = create_async_engine(
        target.set(database="postgres"), isolation_level="AUTOCOMMIT", pool_size=1
    )
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    finally:
        await admin.dispose()
