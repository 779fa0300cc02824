"""Reading the MusicBrainz tables: recordings by MBID, and where they were released.

A lookup asks two statements at most, whatever the number of MBIDs, and both run at once
on two connections: :func:`recordings` (titles, lengths, credits, ISRCs, and redirects of
merged MBIDs to the current recording) and :func:`appearances` (every track of those
recordings with its medium, release, release events and release group). Artist credits
come as JSON from correlated subqueries in the same statements, so nothing is read per
recording. :func:`recording_names` is the small form the website shows on track pages.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ARRAY, TextClause, Uuid, bindparam, text

from libs.common.db import Database, Databases
from libs.common.musicbrainz.schema import SCHEMA

S = f'"{SCHEMA}"'


def _credit(column: str) -> str:
    return (
        "(SELECT json_agg(json_build_array(a.gid, n.name, n.join_phrase) ORDER BY n.position)"
        f" FROM {S}.artist_credit_name n JOIN {S}.artist a ON a.id = n.artist"
        f" WHERE n.artist_credit = {column})"
    )


_REQUESTED = f"""
    SELECT q.gid AS requested, r.id AS recording
    FROM unnest(:gids) AS q(gid) JOIN {S}.recording r ON r.gid = q.gid
    UNION ALL
    SELECT q.gid, g.new_id
    FROM unnest(:gids) AS q(gid) JOIN {S}.recording_gid_redirect g ON g.gid = q.gid
"""


def _recordings_sql(with_isrcs: bool) -> TextClause:
    isrcs = (
        f"(SELECT array_agg(i.isrc ORDER BY i.isrc) FROM {S}.isrc i WHERE i.recording = r.id)"
        if with_isrcs
        else "NULL"
    )
    sql = f"""
        WITH q AS ({_REQUESTED})
        SELECT q.requested, r.id, r.gid, r.name, r.length, {_credit("r.artist_credit")},
               ac.name, {isrcs}
        FROM q JOIN {S}.recording r ON r.id = q.recording
        JOIN {S}.artist_credit ac ON ac.id = r.artist_credit
    """
    return text(sql).bindparams(bindparam("gids", type_=ARRAY(Uuid())))


_RECORDINGS = {flag: _recordings_sql(flag) for flag in (False, True)}

_APPEARANCES = text(
    f"""
    WITH rec AS (SELECT DISTINCT recording FROM ({_REQUESTED}) q),
    tr AS MATERIALIZED (
        SELECT t.recording, t.gid, t.position, t.name, t.length, t.artist_credit,
               m.release, m.position AS medium_position, m.track_count AS medium_track_count,
               m.name AS medium_name, m.format
        FROM {S}.track t JOIN {S}.medium m ON m.id = t.medium
        WHERE t.recording IN (SELECT recording FROM rec)
    ),
    rl AS MATERIALIZED (
        SELECT r.id, r.gid, r.name, r.release_group, {_credit("r.artist_credit")} AS artists,
               (SELECT count(*) FROM {S}.medium m WHERE m.release = r.id) AS medium_count,
               (SELECT sum(m.track_count) FROM {S}.medium m WHERE m.release = r.id)
                   AS track_count,
               (SELECT json_agg(json_build_array(c.code, e.date_year, e.date_month, e.date_day)
                                ORDER BY e.date_year NULLS LAST, e.date_month NULLS LAST,
                                         e.date_day NULLS LAST, c.code)
                FROM {S}.release_event e LEFT JOIN {S}.iso_3166_1 c ON c.area = e.country
                WHERE e.release = r.id) AS events
        FROM {S}.release r WHERE r.id IN (SELECT release FROM tr)
    ),
    rg AS MATERIALIZED (
        SELECT g.id, g.gid, g.name, pt.name AS type, {_credit("g.artist_credit")} AS artists,
               (SELECT array_agg(st.name ORDER BY st.id)
                FROM {S}.release_group_secondary_type_join j
                JOIN {S}.release_group_secondary_type st ON st.id = j.secondary_type
                WHERE j.release_group = g.id) AS secondary_types
        FROM {S}.release_group g
        LEFT JOIN {S}.release_group_primary_type pt ON pt.id = g.type
        WHERE g.id IN (SELECT release_group FROM rl)
    )
    SELECT tr.recording, tr.gid, tr.position, tr.name, tr.length, {_credit("tr.artist_credit")},
           tr.medium_position, tr.medium_track_count, tr.medium_name, f.name,
           rl.id, rl.gid, rl.name, rl.artists, rl.medium_count, rl.track_count, rl.events,
           rg.id, rg.gid, rg.name, rg.type, rg.secondary_types, rg.artists
    FROM tr JOIN rl ON rl.id = tr.release JOIN rg ON rg.id = rl.release_group
    LEFT JOIN {S}.medium_format f ON f.id = tr.format
    ORDER BY tr.recording, rg.id, rl.id, tr.medium_position, tr.position
    """
).bindparams(bindparam("gids", type_=ARRAY(Uuid())))


def _json(value: Any) -> Any:
    """The driver decodes ``json`` columns already; a plain connection gives text."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def artists(credit: Any) -> list[dict[str, Any]]:
    """A credit as acoustid.org shows it: id, credited name, and the join phrase if any."""
    result = []
    for gid, name, join in _json(credit) or ():
        artist: dict[str, Any] = {"id": gid, "name": name}
        if join:
            artist["joinphrase"] = join
        result.append(artist)
    return result


@dataclass(frozen=True)
class Recording:
    requested: str
    """The MBID asked for; ``gid`` differs when MusicBrainz merged it into another."""
    id: int
    gid: str
    title: str
    length: int | None
    artists: list[dict[str, Any]]
    artist_credit: str
    isrcs: list[str]


@dataclass(frozen=True)
class Event:
    country: str | None
    year: int | None
    month: int | None
    day: int | None


@dataclass(frozen=True)
class Appearance:
    """One track of a recording, with its medium, release and release group."""

    recording: int
    track_gid: str
    track_position: int
    track_title: str
    track_length: int | None
    track_artists: list[dict[str, Any]]
    medium_position: int
    medium_track_count: int
    medium_title: str
    medium_format: str | None
    release_id: int
    release_gid: str
    release_title: str
    release_artists: list[dict[str, Any]]
    medium_count: int
    track_count: int
    events: list[Event]
    group_id: int
    group_gid: str
    group_title: str
    group_type: str | None
    group_secondary_types: list[str]
    group_artists: list[dict[str, Any]]


def _gids(mbids: Iterable[str]) -> list[uuid.UUID]:
    return sorted({uuid.UUID(m) for m in mbids})


async def recordings(
    databases: Databases, mbids: Iterable[str], with_isrcs: bool = False
) -> list[Recording]:
    """The recordings of ``mbids`` (following redirects); unknown MBIDs are left out."""
    gids = _gids(mbids)
    if not gids:
        return []
    rows = await databases.fetch(Database.MUSICBRAINZ, _RECORDINGS[with_isrcs], {"gids": gids})
    return [
        Recording(
            str(req), rid, str(gid), name or "", length, artists(credit), text_, list(i or ())
        )
        for req, rid, gid, name, length, credit, text_, i in rows
    ]


async def appearances(databases: Databases, mbids: Iterable[str]) -> list[Appearance]:
    """Every track of the recordings of ``mbids``, ordered by recording, release group,
    release, medium and position."""
    gids = _gids(mbids)
    if not gids:
        return []
    rows = await databases.fetch(Database.MUSICBRAINZ, _APPEARANCES, {"gids": gids})
    return [
        Appearance(
            row[0],
            str(row[1]),
            row[2],
            row[3],
            row[4],
            artists(row[5]),
            row[6],
            row[7],
            row[8],
            row[9],
            row[10],
            str(row[11]),
            row[12],
            artists(row[13]),
            int(row[14] or 0),
            int(row[15] or 0),
            [Event(*e) for e in _json(row[16]) or ()],
            row[17],
            str(row[18]),
            row[19],
            row[20],
            list(row[21] or ()),
            artists(row[22]),
        )
        for row in rows
    ]


async def metadata(
    databases: Databases, mbids: Iterable[str], with_isrcs: bool, with_releases: bool
) -> tuple[list[Recording], list[Appearance]]:
    """Both reads at once: their latencies overlap instead of adding up."""
    wanted = list(mbids)
    if not with_releases:
        return await recordings(databases, wanted, with_isrcs), []
    found, tracks = await asyncio.gather(
        recordings(databases, wanted, with_isrcs), appearances(databases, wanted)
    )
    return found, tracks


@dataclass(frozen=True)
class RecordingName:
    mbid: str
    """The current MBID (a merged one answers under the recording it was merged into)."""
    title: str
    artist: str
    """The artist credit as MusicBrainz prints it, join phrases included."""


async def recording_names(databases: Databases, mbids: Iterable[str]) -> dict[str, RecordingName]:
    """Title and artist credit of each MBID MusicBrainz knows, keyed by the MBID asked for,
    in one query for any number of MBIDs; for pages that list recordings."""
    valid = []
    for mbid in mbids:
        try:
            valid.append(str(uuid.UUID(mbid)))
        except ValueError:
            continue
    return {
        r.requested: RecordingName(r.gid, r.title, r.artist_credit)
        for r in await recordings(databases, valid)
    }
