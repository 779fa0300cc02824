"""What ``meta`` adds to lookup results, from the links in the fingerprint database.

MusicBrainz tables arrive with a later issue; until then every linked recording is
``{"id": mbid}`` (plus ``sources``), exactly what acoustid.org answers for an MBID its
MusicBrainz copy lacks, and which Picard and beets resolve through MusicBrainz themselves.
Because no MusicBrainz metadata is ever found, ``usermeta`` always applies when asked.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ARRAY, Integer, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.selectable import LateralFromClause

from libs.common.db import Database, Databases
from libs.common.models.fingerprint import Meta, TrackMBID, TrackMeta

RECORDING_TOKENS = frozenset({"recordings", "recordingids", "isrcs"})
TOKENS = frozenset(
    {
        "recordings",
        "recordingids",
        "releases",
        "releaseids",
        "releasegroups",
        "releasegroupids",
        "tracks",
        "compress",
        "usermeta",
        "sources",
        "isrcs",
    }
)
LEGACY_M2 = "m2"
MAX_META_PER_TRACK = 10


def parse_meta(value: str | None) -> frozenset[str]:
    """Whitespace-separated tokens; ``1`` means ``recordingids``, ``2`` the old m2 layout;
    unknown tokens are ignored as the original does."""
    words = (value or "").split()
    if words == ["1"]:
        return frozenset({"recordingids"})
    if words == ["2"]:
        return frozenset({LEGACY_M2})
    return frozenset(w for w in words if w in TOKENS)


def wants_links(tokens: frozenset[str]) -> bool:
    return bool(tokens & RECORDING_TOKENS) or LEGACY_M2 in tokens


@dataclass(frozen=True)
class Link:
    mbid: str
    sources: int


_LINKS = (
    select(TrackMBID.track_id, TrackMBID.mbid, TrackMBID.submission_count)
    .where(
        TrackMBID.track_id == any_(bindparam("ids", type_=ARRAY(Integer))),
        TrackMBID.disabled.is_(False),
    )
    .order_by(TrackMBID.track_id, TrackMBID.mbid)
)


def links_of(track_id: InstrumentedAttribute[int]) -> LateralFromClause:
    """A track's enabled links as two arrays in ``mbid`` order, to join onto another query.

    A lookup joins it onto its candidate fingerprints, so links come with the fingerprints
    in one round trip instead of a second query after scoring.
    """
    order = (TrackMBID.mbid,)
    return (
        select(
            func.array_agg(aggregate_order_by(TrackMBID.mbid, *order)).label("mbids"),
            func.array_agg(aggregate_order_by(TrackMBID.submission_count, *order)).label("counts"),
        )
        .where(TrackMBID.track_id == track_id, TrackMBID.disabled.is_(False))
        .lateral("links")
    )


def as_links(mbids: list[Any] | None, counts: list[int] | None) -> list[Link]:
    return [Link(str(m), c) for m, c in zip(mbids or (), counts or (), strict=True)]


async def _links(databases: Databases, track_ids: set[int]) -> dict[int, list[Link]]:
    links: dict[int, list[Link]] = defaultdict(list)
    rows = await databases.fetch(Database.FINGERPRINT, _LINKS, {"ids": list(track_ids)})
    for track_id, mbid, count in rows:
        links[track_id].append(Link(str(mbid), count))
    return links


async def _user_meta(databases: Databases, track_ids: set[int]) -> dict[int, list[Meta]]:
    stmt = (
        select(TrackMeta.track_id, Meta)
        .join(Meta, Meta.id == TrackMeta.meta_id)
        .where(TrackMeta.track_id.in_(track_ids))
        .order_by(TrackMeta.track_id, TrackMeta.submission_count.desc(), TrackMeta.id)
    )
    metas: dict[int, list[Meta]] = defaultdict(list)
    async with databases.read_session(Database.FINGERPRINT) as session:
        for track_id, meta in await session.execute(stmt):
            if len(metas[track_id]) < MAX_META_PER_TRACK:
                metas[track_id].append(meta)
    return metas


def _user_recording(meta: Meta, tokens: frozenset[str]) -> dict[str, Any]:
    """A submitted tag set shaped like a recording without ids; empty parts left out."""
    recording: dict[str, Any] = {}
    if meta.track:
        recording["title"] = meta.track
    if meta.artist:
        recording["artists"] = [meta.artist]
    release: dict[str, Any] = {}
    if meta.album:
        release["title"] = meta.album
    if meta.album_artist:
        release["artists"] = [meta.album_artist]
    if meta.year:
        release["date"] = {"year": meta.year}
    if release:
        if tokens & {"releasegroups", "releasegroupids"}:
            group = {k: v for k, v in release.items() if k != "date"}
            if tokens & {"releases", "releaseids"}:
                group["releases"] = [release]
            recording["releasegroups"] = [group]
        elif tokens & {"releases", "releaseids"}:
            recording["releases"] = [release]
    return recording


async def attach(
    databases: Databases,
    results: list[list[dict[str, Any]]],
    track_ids: list[list[int]],
    tokens: frozenset[str],
    recordings_key: str = "recordings",
    known_links: dict[int, list[Link]] | None = None,
) -> None:
    """Adds ``recordings`` (or v1's ``tracks``) to each result dict in place; links of the
    tracks in ``known_links`` were read with the search and are not read again."""
    every_track = {t for ids in track_ids for t in ids}
    if not tokens or not every_track:
        return
    links: dict[int, list[Link]] = {}
    if wants_links(tokens):
        links = dict(known_links or {})
        missing = every_track - links.keys()
        if missing:
            links.update(await _links(databases, missing))
    metas = await _user_meta(databases, every_track) if "usermeta" in tokens else {}
    for query_results, ids in zip(results, track_ids, strict=True):
        for result, track_id in zip(query_results, ids, strict=True):
            recordings: list[dict[str, Any]] = []
            for link in links.get(track_id, ()):
                recording: dict[str, Any] = {"id": link.mbid}
                if "sources" in tokens:
                    recording["sources"] = link.sources
                recordings.append(recording)
            for meta in metas.get(track_id, ()):
                user = _user_recording(meta, tokens)
                if user:
                    recordings.append(user)
            if recordings:
                result[recordings_key] = recordings
