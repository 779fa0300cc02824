"""Rows the browse tests need beyond what the stack imported: written straight to the tables
the pages read, the way the importer and the cron leave them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, update

from libs.common.db import Database, Databases
from libs.common.models.app import Account
from libs.common.models.fingerprint import Fingerprint, Track, TrackMBID
from libs.common.settings import Settings


async def add_track(
    settings: Settings,
    links: dict[str, bool],
    fingerprints: Sequence[Sequence[int]] = (),
    merged_into: int | None = None,
) -> tuple[int, str, list[int]]:
    """(id, AcoustID, fingerprint ids) of a new track with MBID links (mbid -> disabled)."""
    databases = Databases(settings)
    try:
        async with databases.session(Database.FINGERPRINT) as session:
            track = Track(gid=uuid.uuid4(), new_id=merged_into)
            session.add(track)
            await session.flush()
            session.add_all(
                TrackMBID(track_id=track.id, mbid=uuid.UUID(m), submission_count=2, disabled=off)
                for m, off in links.items()
            )
            rows = [
                Fingerprint(
                    fingerprint=[v - (1 << 32) if v >= 1 << 31 else v for v in items],
                    length=max(1, len(items) // 8),
                    track_id=track.id,
                    submission_count=1,
                )
                for items in fingerprints
            ]
            session.add_all(rows)
            await session.commit()
            return track.id, str(track.gid), [row.id for row in rows]
    finally:
        await databases.dispose()


async def track_id(settings: Settings, gid: str) -> int:
    databases = Databases(settings)
    try:
        rows = await databases.fetch(
            Database.FINGERPRINT, select(Track.id).where(Track.gid == uuid.UUID(gid))
        )
        return int(rows[0][0])
    finally:
        await databases.dispose()


async def fingerprint_of(settings: Settings, gid: str) -> tuple[int, list[int]]:
    """(id, unsigned items) of a track's first fingerprint."""
    databases = Databases(settings)
    try:
        rows = await databases.fetch(
            Database.FINGERPRINT,
            select(Fingerprint.id, Fingerprint.fingerprint)
            .join(Track, Track.id == Fingerprint.track_id)
            .where(Track.gid == uuid.UUID(gid))
            .order_by(Fingerprint.id),
        )
        fp_id, items = rows[0]
        return int(fp_id), [v & 0xFFFFFFFF for v in items]
    finally:
        await databases.dispose()


async def promote(settings: Settings, email: str, **flags: bool) -> None:
    """Sets ``is_moderator`` or ``is_admin`` of an account, as ``acoustid account`` does."""
    databases = Databases(settings)
    try:
        async with databases.session(Database.APP) as session:
            await session.execute(update(Account).where(Account.email == email).values(**flags))
            await session.commit()
    finally:
        await databases.dispose()
