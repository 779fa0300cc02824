"""Async engines for the three databases, created lazily and shared within a process.

Each database is its own engine (and may be its own server): the original scales them
independently, and cross-database references are ids, never foreign keys.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import StrEnum

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


def database_url(settings: Settings, db: Database) -> str:
    urls = {
        Database.APP: settings.app_database_url,
        Database.FINGERPRINT: settings.fingerprint_database_url,
        Database.INGEST: settings.ingest_database_url,
    }
    return urls[db]


class Databases:
    """The engines a service uses; ``dispose()`` on shutdown closes their pools."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engines: dict[Database, AsyncEngine] = {}
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

    def sessionmaker(self, db: Database) -> async_sessionmaker[AsyncSession]:
        if db not in self._sessions:
            self._sessions[db] = async_sessionmaker(self.engine(db), expire_on_commit=False)
        return self._sessions[db]

    @asynccontextmanager
    async def session(self, db: Database) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker(db)() as session:
            yield session

    async def dispose(self) -> None:
        for engine in self._engines.values():
            await engine.dispose()
        self._engines.clear()
        self._sessions.clear()
