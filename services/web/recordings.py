"""Titles of linked recordings, from the MusicBrainz tables when this instance has them.

An instance without a MusicBrainz import still shows every page: recordings are then listed
by MBID alone, linked to musicbrainz.org. Whether the tables are there is asked again after
a minute, so an import that lands while the website runs shows up without a restart.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ARRAY, Uuid, bindparam, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from libs.common.settings import Settings

log = logging.getLogger(__name__)

RECHECK_SECONDS = 60.0

_TITLES = text(
    """
    SELECT q.gid, r.name, ac.name, r.length, r.comment
    FROM unnest(:gids) AS q(gid)
    JOIN musicbrainz.recording r ON r.gid = q.gid
    JOIN musicbrainz.artist_credit ac ON ac.id = r.artist_credit
    """
).bindparams(bindparam("gids", type_=ARRAY(Uuid())))


@dataclass(frozen=True)
class RecordingTitle:
    title: str
    artist: str
    length: int | None
    """Milliseconds, as MusicBrainz stores it."""
    comment: str


class RecordingTitles:
    """One per process: the engine on the MusicBrainz tables and whether they exist."""

    def __init__(self, settings: Settings) -> None:
        self._url = settings.musicbrainz_database_url or settings.app_database_url
        self._engine: AsyncEngine | None = None
        self._absent_until = 0.0

    def _connect(self) -> AsyncEngine:
        if self._engine is None:
            self._engine = create_async_engine(
                self._url, pool_size=2, max_overflow=0, isolation_level="AUTOCOMMIT"
            )
        return self._engine

    async def titles(self, mbids: Iterable[str | uuid.UUID]) -> dict[str, RecordingTitle]:
        """Title, artist credit, length and comment of each MBID MusicBrainz knows."""
        gids = sorted({uuid.UUID(str(m)) for m in mbids})
        if not gids or time.monotonic() < self._absent_until:
            return {}
        try:
            async with self._connect().connect() as conn:
                rows = (await conn.execute(_TITLES, {"gids": gids})).all()
        except (DBAPIError, OSError) as exc:
            log.info("no MusicBrainz titles (%s); showing MBIDs", type(exc).__name__)
            self._absent_until = time.monotonic() + RECHECK_SECONDS
            return {}
        return {
            str(gid): RecordingTitle(name, artist, length, comment or "")
            for gid, name, artist, length, comment in rows
        }

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
