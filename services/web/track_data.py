"""What the browse pages read: tracks, their fingerprints and links, and the editing history.

Every read is one statement on a reader connection; a track page is one statement for the
track, its fingerprints, its links and its user metadata together.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Uuid, bindparam, select, text

from libs.common.db import Database, Databases
from libs.common.models.app import Account
from libs.common.models.fingerprint import Fingerprint, Track, TrackMBID
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


_PAGE_SQL = """
    SELECT t.id, t.gid, t.new_id,
      (SELECT json_agg(json_build_array(f.id, f.length, f.submission_count)
                       ORDER BY f.length, f.id)
       FROM fingerprint f WHERE f.track_id = t.id),
      (SELECT json_agg(json_build_array(m.id, m.mbid, m.submission_count, m.disabled)
                       ORDER BY m.submission_count DESC, m.mbid)
       FROM track_mbid m WHERE m.track_id = t.id AND m.merged_into IS NULL),
      (SELECT json_agg(json_build_array(u.track, u.artist, u.album, u.n)
                       ORDER BY u.n DESC, u.track, u.artist, u.album)
       FROM (SELECT me.track, me.artist, me.album, sum(tm.submission_count) AS n
             FROM track_meta tm JOIN meta me ON me.id = tm.meta_id
             WHERE tm.track_id = t.id
               AND (me.track IS NOT NULL OR me.artist IS NOT NULL OR me.album IS NOT NULL)
             GROUP BY me.track, me.artist, me.album
             ORDER BY n DESC LIMIT :meta_rows) u)
    FROM track t WHERE {where}
"""
_PAGE_BY_ID = text(_PAGE_SQL.format(where="t.id = :id"))
_PAGE_BY_GID = text(_PAGE_SQL.format(where="t.gid = :gid")).bindparams(
    bindparam("gid", type_=Uuid())
)


def _rows(value: Any) -> list[list[Any]]:
    if value is None:
        return []
    return list(json.loads(value) if isinstance(value, str) else value)


async def load_page(databases: Databases, ref: str | int) -> TrackPage | None:
    """A track with its fingerprints, links and user metadata in one statement, by AcoustID
    or numeric id; None when there is no such track. The track may be merged away
    (``track.new_id``): then the lists are those left on it, usually none."""
    parsed = ("id", ref) if isinstance(ref, int) else parse_track_ref(ref)
    if parsed is None:
        return None
    kind, value = parsed
    stmt = _PAGE_BY_ID if kind == "id" else _PAGE_BY_GID
    rows = await databases.fetch(
        Database.FINGERPRINT, stmt, {kind: value, "meta_rows": USER_META_ROWS}
    )
    if not rows:
        return None
    track_id, gid, new_id, fingerprints, links, user_meta = rows[0]
    return TrackPage(
        TrackRow(track_id, str(gid), new_id),
        [FingerprintRow(*row) for row in _rows(fingerprints)],
        [Link(row[0], str(row[1]), row[2], bool(row[3])) for row in _rows(links)],
        [UserMeta(*row) for row in _rows(user_meta)],
    )


async def current_page(databases: Databases, ref: str) -> TrackPage | None:
    """The page of the track ``ref`` names, or of the track it was merged into."""
    page = await load_page(databases, ref)
    for _ in range(MAX_REDIRECTS):
        if page is None or page.track.new_id is None:
            break
        page = await load_page(databases, page.track.new_id)
    return page


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
