"""What the browse pages read: tracks, their fingerprints and links, and the editing history.

Every read is one statement on a reader connection; a track page runs its statements at
once, so it costs the slowest of them rather than their sum.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from libs.common.db import Database, Databases
from libs.common.models.app import Account
from libs.common.models.fingerprint import Fingerprint, Meta, Track, TrackMBID, TrackMeta
from libs.common.models.ingest import TrackMBIDChange

#: Merged tracks point at the track they went into; chains longer than this are not followed.
MAX_REDIRECTS = 10
USER_META_ROWS = 50


@dataclass(frozen=True)
class TrackRow:
    id: int
    gid: str
    new_id: int | None


@dataclass(frozen=True)
class FingerprintRow:
    id: int
    length: int
    sources: int


@dataclass(frozen=True)
class Link:
    id: int
    mbid: str
    sources: int
    disabled: bool


@dataclass(frozen=True)
class UserMeta:
    title: str | None
    artist: str | None
    album: str | None
    sources: int


@dataclass(frozen=True)
class Change:
    created: datetime
    mbid: str
    disabled: bool
    note: str | None
    account: str


@dataclass(frozen=True)
class TrackPage:
    track: TrackRow
    fingerprints: list[FingerprintRow]
    links: list[Link]
    user_meta: list[UserMeta]


def parse_track_ref(ref: str) -> tuple[str, int | uuid.UUID] | None:
    """``("id", 123)`` or ``("gid", UUID)``; None for anything else."""
    if ref.isdigit() and len(ref) < 10:
        return "id", int(ref)
    try:
        return "gid", uuid.UUID(ref)
    except ValueError:
        return None


async def find_track(databases: Databases, ref: str) -> TrackRow | None:
    """The track an AcoustID or numeric id names, as stored (possibly merged away)."""
    parsed = parse_track_ref(ref)
    if parsed is None:
        return None
    kind, value = parsed
    column = Track.id if kind == "id" else Track.gid
    rows = await databases.fetch(
        Database.FINGERPRINT, select(Track.id, Track.gid, Track.new_id).where(column == value)
    )
    return TrackRow(rows[0][0], str(rows[0][1]), rows[0][2]) if rows else None


async def current_track(databases: Databases, track: TrackRow) -> TrackRow:
    """Where a merged track's fingerprints and links went, following the merge chain."""
    for _ in range(MAX_REDIRECTS):
        if track.new_id is None:
            break
        rows = await databases.fetch(
            Database.FINGERPRINT,
            select(Track.id, Track.gid, Track.new_id).where(Track.id == track.new_id),
        )
        if not rows:
            break
        track = TrackRow(rows[0][0], str(rows[0][1]), rows[0][2])
    return track


async def _fingerprints(databases: Databases, track_id: int) -> list[FingerprintRow]:
    rows = await databases.fetch(
        Database.FINGERPRINT,
        select(Fingerprint.id, Fingerprint.length, Fingerprint.submission_count)
        .where(Fingerprint.track_id == track_id)
        .order_by(Fingerprint.length, Fingerprint.id),
    )
    return [FingerprintRow(*row) for row in rows]


async def _links(databases: Databases, track_id: int) -> list[Link]:
    rows = await databases.fetch(
        Database.FINGERPRINT,
        select(TrackMBID.id, TrackMBID.mbid, TrackMBID.submission_count, TrackMBID.disabled)
        .where(TrackMBID.track_id == track_id, TrackMBID.merged_into.is_(None))
        .order_by(TrackMBID.submission_count.desc(), TrackMBID.mbid),
    )
    return [Link(r[0], str(r[1]), r[2], bool(r[3])) for r in rows]


async def _user_meta(databases: Databases, track_id: int) -> list[UserMeta]:
    """Titles, artists and albums users submitted, equal ones summed, most submitted first."""
    total = func.sum(TrackMeta.submission_count)
    rows = await databases.fetch(
        Database.FINGERPRINT,
        select(Meta.track, Meta.artist, Meta.album, total)
        .join(TrackMeta, TrackMeta.meta_id == Meta.id)
        .where(TrackMeta.track_id == track_id)
        .where((Meta.track.is_not(None)) | (Meta.artist.is_not(None)) | (Meta.album.is_not(None)))
        .group_by(Meta.track, Meta.artist, Meta.album)
        .order_by(total.desc(), Meta.track, Meta.artist, Meta.album)
        .limit(USER_META_ROWS),
    )
    return [UserMeta(*row) for row in rows]


async def track_page(databases: Databases, track: TrackRow) -> TrackPage:
    fingerprints, links, user_meta = await asyncio.gather(
        _fingerprints(databases, track.id),
        _links(databases, track.id),
        _user_meta(databases, track.id),
    )
    return TrackPage(track, fingerprints, links, user_meta)


async def history(databases: Databases, links: list[Link]) -> list[Change]:
    """Who enabled or disabled which of these links, newest first, with their notes."""
    by_id = {link.id: link.mbid for link in links}
    if not by_id:
        return []
    rows = await databases.fetch(
        Database.INGEST,
        select(
            TrackMBIDChange.created,
            TrackMBIDChange.track_mbid_id,
            TrackMBIDChange.disabled,
            TrackMBIDChange.note,
            TrackMBIDChange.account_id,
        )
        .where(TrackMBIDChange.track_mbid_id.in_(list(by_id)))
        .order_by(TrackMBIDChange.created.desc(), TrackMBIDChange.id.desc()),
    )
    names = await account_names(databases, {row[4] for row in rows})
    return [
        Change(created, by_id[link_id], disabled, note, names.get(account, f"#{account}"))
        for created, link_id, disabled, note, account in rows
    ]


async def account_names(databases: Databases, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await databases.fetch(
        Database.APP, select(Account.id, Account.name).where(Account.id.in_(list(ids)))
    )
    return {account_id: name for account_id, name in rows}


@dataclass(frozen=True)
class MBIDTrack:
    gid: str
    sources: int
    disabled: bool


async def tracks_of_mbid(databases: Databases, mbid: uuid.UUID) -> list[MBIDTrack]:
    """The AcoustIDs linked to a recording, most submitted first, disabled links included."""
    rows = await databases.fetch(
        Database.FINGERPRINT,
        select(Track.gid, TrackMBID.submission_count, TrackMBID.disabled)
        .join(Track, Track.id == TrackMBID.track_id)
        .where(TrackMBID.mbid == mbid, TrackMBID.merged_into.is_(None))
        .order_by(TrackMBID.disabled, TrackMBID.submission_count.desc(), Track.gid),
    )
    return [MBIDTrack(str(gid), sources, bool(disabled)) for gid, sources, disabled in rows]


async def fingerprint_items(
    databases: Databases, fingerprint_id: int
) -> tuple[list[int], int, str] | None:
    """(items, length in seconds, track AcoustID) of a stored fingerprint, or None."""
    rows = await databases.fetch(
        Database.FINGERPRINT,
        select(Fingerprint.fingerprint, Fingerprint.length, Track.gid)
        .join(Track, Track.id == Fingerprint.track_id)
        .where(Fingerprint.id == fingerprint_id),
    )
    if not rows:
        return None
    items, length, gid = rows[0]
    return list(items), int(length), str(gid)
