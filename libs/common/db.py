"""Async engines for the databases, created lazily and shared within a process.

Each database is its own engine (and may be its own server): the original scales them
independently, and cross-database references are ids, never foreign keys. The MusicBrainz
tables are a fourth, read by lookups; by default they are the ``musicbrainz`` schema of the
app database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from enum import StrEnum
from typing import Any

from sqlalchemy import Executable, Row
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from libs.common.settings import Settings


class Database(StrEnum):
    APP = "app"
    FINGERPRINT = "fingerprint"
    INGEST = "ingest"
    MUSICBRAINZ = "musicbrainz"


def database_url(settings: Settings, db: Database) -> str:
    urls = {
        Database.APP: settings.app_database_url,
        Database.FINGERPRINT: settings.fingerprint_database_url,
        Database.INGEST: settings.ingest_database_url,
        Database.MUSICBRAINZ: settings.musicbrainz_database_url or settings.app_database_url,
    }
    return urls[db]


class Databases:
    """The engines a service uses; ``dispose()`` on shutdown closes their pools."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engines: dict[Database, AsyncEngine] = {}
        self._readers: dict[Database, AsyncEngine] = {}
        self._sessions: dict[Database, async_sessionmaker[AsyncSession]] = {}

    def engine(self, db: Database) -> AsyncEngine:
        if db not in self._engines:
            self._engines[db] = create_async_engine(
                database_url(self.settings, db),
                pool_size=self.settings.database_pool_size,
                pool_timeout=self.settings.database_pool_timeout,
                pool_pre_ping=True,
                connect_args={"timeout": self.settings.database_pool_timeout},
            )
        return self._engines[db]

    def reader(self, db: Database) -> AsyncEngine:
        """An engine for single-statement reads: autocommit and no pre-ping.

        Through :meth:`engine` a read costs four round trips (ping, BEGIN, the query,
        ROLLBACK); a lookup makes several reads, so that was most of its database time.
        Without the ping a connection that died with its server is only found by using it,
        which :meth:`fetch` answers by retrying once on a fresh connection. There is no
        overflow: a burst waits a millisecond for a pooled connection rather than opening
        one (a fork on the server and several round trips) that is closed again after it.
        """
        if db not in self._readers:
            self._readers[db] = create_async_engine(
                database_url(self.settings, db),
                pool_size=self.settings.database_pool_size,
                max_overflow=0,
                pool_timeout=self.settings.database_pool_timeout,
                isolation_level="AUTOCOMMIT",
                connect_args={"timeout": self.settings.database_pool_timeout},
            )
        return self._readers[db]

    async def open_readers(self, db: Database) -> None:
        """Fills the reader pool, so the first requests after start-up do not pay for it."""
        engine = self.reader(db)
        conns = [await engine.connect() for _ in range(self.settings.database_pool_size)]
        for conn in conns:
            await conn.close()

    async def fetch(
        self, db: Database, stmt: Executable, params: dict[str, Any] | None = None
    ) -> Sequence[Row[*tuple[Any, ...]]]:
        """The rows of one read-only statement, on a reader connection."""
        try:
            return await self._fetch_once(db, stmt, params)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        return await self._fetch_once(db, stmt, params)

    async def _fetch_once(
        self, db: Database, stmt: Executable, params: dict[str, Any] | None
    ) -> Sequence[Row[*tuple[Any, ...]]]:
        async with self.reader(db).connect() as conn:
            return (await conn.execute(stmt, params)).all()

    def sessionmaker(self, db: Database) -> async_sessionmaker[AsyncSession]:
        if db not in self._sessions:
            self._sessions[db] = async_sessionmaker(self.engine(db), expire_on_commit=False)
        return self._sessions[db]

    @asynccontextmanager
    async def session(self, db: Database) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker(db)() as session:
            yield session

    async def dispose(self) -> None:
        for engine in [*self._engines.values(), *self._readers.values()]:
            await engine.dispose()
        self._engines.clear()
        self._readers.clear()
        self._sessions.clear()
