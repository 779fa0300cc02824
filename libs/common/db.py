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


def replica_url(settings: Settings, db: Database) -> str:
    """The read replica's URL (``ACOUSTID_<DB>_DATABASE_URL_RO``), else the primary's.

    The MusicBrainz tables are only ever read: their own URL when set (point it at a
    replica), else they live in the app database and are read from its replica."""
    urls = {
        Database.APP: settings.app_database_url_ro,
        Database.FINGERPRINT: settings.fingerprint_database_url_ro,
        Database.INGEST: settings.ingest_database_url_ro,
        Database.MUSICBRAINZ: settings.musicbrainz_database_url or settings.app_database_url_ro,
    }
    return urls[db] or database_url(settings, db)


class Databases:
    """The engines a service uses; ``dispose()`` on shutdown closes their pools.

    With ``read_replicas`` (the API and the website) the reader engines connect to the
    ``*_RO`` URLs, so lookups and read-only pages scale out on streaming replicas while
    writes stay on the primary. A replica lags its primary by up to its replay delay;
    readers therefore serve only what may be a moment old, never a read-your-write.
    """

    def __init__(self, settings: Settings, read_replicas: bool = False) -> None:
        self.settings = settings
        self.read_replicas = read_replicas
        self._engines: dict[Database, AsyncEngine] = {}
        self._readers: dict[Database, AsyncEngine] = {}
        self._sessions: dict[Database, async_sessionmaker[AsyncSession]] = {}
        self._read_sessions: dict[Database, async_sessionmaker[AsyncSession]] = {}

    def reader_url(self, db: Database) -> str:
        if self.read_replicas:
            return replica_url(self.settings, db)
        return database_url(self.settings, db)

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
                self.reader_url(db),
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

    @asynccontextmanager
    async def read_session(self, db: Database) -> AsyncIterator[AsyncSession]:
        """A session on the reader engine, for reads of several statements (never writes)."""
        if db not in self._read_sessions:
            self._read_sessions[db] = async_sessionmaker(self.reader(db), expire_on_commit=False)
        async with self._read_sessions[db]() as session:
            yield session

    async def dispose(self) -> None:
        for engine in [*self._engines.values(), *self._readers.values()]:
            await engine.dispose()
        self._engines.clear()
        self._readers.clear()
        self._sessions.clear()
        self._read_sessions.clear()
