"""What ``meta`` adds to lookup results: linked MBIDs, and MusicBrainz data about them.

The links come from the fingerprint database (usually with the search itself), the
MusicBrainz data from the local replica in two statements run at once
(:mod:`libs.common.musicbrainz.lookup`), for one query or a batch of them alike. The shapes
follow acoustid.org's lookup handler field by field (reference §1.4): which keys appear,
when they are left out, and what ``compress`` removes. An MBID MusicBrainz merged into
another answers under the current MBID, as it will once the ``merge_missing_mbids`` job has
merged the link; unknown and merged MBIDs are reported for that job.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ARRAY, Integer, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.selectable import LateralFromClause

from libs.common.db import Database, Databases
from libs.common.models.fingerprint import Meta, TrackMBID, TrackMeta
from libs.common.musicbrainz import lookup as mb
from libs.common.musicbrainz.lookup import Appearance, Recording

RECORDING_TOKENS = frozenset({"recordings", "recordingids", "isrcs"})
RELEASE_TOKENS = frozenset({"releases", "releaseids"})
GROUP_TOKENS = frozenset({"releasegroups", "releasegroupids"})
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
    return bool(tokens & (RECORDING_TOKENS | RELEASE_TOKENS | GROUP_TOKENS)) or (
        LEGACY_M2 in tokens
    )


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
        if tokens & GROUP_TOKENS:
            group = {k: v for k, v in release.items() if k != "date"}
            if tokens & RELEASE_TOKENS:
                group["releases"] = [release]
            recording["releasegroups"] = [group]
        elif tokens & RELEASE_TOKENS:
            recording["releases"] = [release]
    return recording


def _date(year: int | None, month: int | None, day: int | None) -> dict[str, int]:
    parts = {"year": year, "month": month, "day": day}
    return {k: v for k, v in parts.items() if v is not None}


def _release(a: Appearance, ids_only: bool) -> dict[str, Any]:
    release: dict[str, Any] = {"id": a.release_gid}
    if ids_only:
        return release
    release["title"] = a.release_title
    release["artists"] = a.release_artists
    if a.medium_count:
        release["medium_count"] = a.medium_count
    if a.track_count:
        release["track_count"] = a.track_count
    events = []
    for e in a.events:
        event: dict[str, Any] = {}
        if e.country:
            event["country"] = e.country
        date = _date(e.year, e.month, e.day)
        if date:
            event["date"] = date
        events.append(event)
    if events:
        release["releaseevents"] = events
        release.update(events[0])
    return release


def _group(a: Appearance, ids_only: bool) -> dict[str, Any]:
    group: dict[str, Any] = {"id": a.group_gid}
    if ids_only:
        return group
    group["title"] = a.group_title
    if a.group_type:
        group["type"] = a.group_type
    if a.group_secondary_types:
        group["secondarytypes"] = a.group_secondary_types
    group["artists"] = a.group_artists
    return group


def _medium(a: Appearance) -> dict[str, Any]:
    medium: dict[str, Any] = {"position": a.medium_position, "track_count": a.medium_track_count}
    if a.medium_format:
        medium["format"] = a.medium_format
    if a.medium_title:
        medium["title"] = a.medium_title
    medium["tracks"] = []
    return medium


@dataclass
class Shaper:
    """Turns appearances into release groups / releases / mediums for one ``meta``."""

    tokens: frozenset[str]

    @property
    def compress(self) -> bool:
        return "compress" in self.tokens

    def track(self, a: Appearance, recording_title: str) -> dict[str, Any]:
        track: dict[str, Any] = {"id": a.track_gid, "position": a.track_position}
        if not (self.compress and a.track_title == recording_title):
            track["title"] = a.track_title
        if not (self.compress and a.track_artists == a.release_artists):
            track["artists"] = a.track_artists
        return track

    def releases(
        self, rows: Iterable[Appearance], titles: dict[int, str], group: Appearance | None
    ) -> list[dict[str, Any]]:
        """Releases in first-seen order, each with its mediums (``tracks``); fields equal to
        the release group's are dropped under ``compress``."""
        releases: dict[int, dict[str, Any]] = {}
        mediums: dict[tuple[int, int], dict[str, Any]] = {}
        for a in rows:
            release = releases.get(a.release_id)
            if release is None:
                release = releases[a.release_id] = _release(a, "releaseids" in self.tokens)
                if self.compress and group is not None:
                    if release.get("artists") == a.group_artists:
                        del release["artists"]
                    if release.get("title") == a.group_title:
                        del release["title"]
            if "tracks" in self.tokens:
                key = (a.release_id, a.medium_position)
                if key not in mediums:
                    mediums[key] = _medium(a)
                    release.setdefault("mediums", []).append(mediums[key])
                mediums[key]["tracks"].append(self.track(a, titles[a.recording]))
        return list(releases.values())

    def groups(self, rows: list[Appearance], titles: dict[int, str]) -> list[dict[str, Any]]:
        by_group: dict[int, list[Appearance]] = {}
        for a in rows:
            by_group.setdefault(a.group_id, []).append(a)
        groups = []
        for members in by_group.values():
            group = _group(members[0], "releasegroupids" in self.tokens)
            if self.tokens & RELEASE_TOKENS:
                group["releases"] = self.releases(members, titles, members[0])
            groups.append(group)
        return groups


def _recording_fields(r: Recording, tokens: frozenset[str]) -> dict[str, Any]:
    fields: dict[str, Any] = {"title": r.title}
    if r.length is not None:
        fields["duration"] = r.length / 1000
    if r.artists:
        fields["artists"] = r.artists
    if "isrcs" in tokens and r.isrcs:
        fields["isrcs"] = r.isrcs
    return fields


def _add_release_data(
    element: dict[str, Any],
    rows: list[Appearance],
    shaper: Shaper,
    titles: dict[int, str],
    artists: list[dict[str, Any]] | None,
) -> None:
    """``releasegroups`` or ``releases`` of one recording (or of a whole track's links)."""
    tokens = shaper.tokens
    if tokens & GROUP_TOKENS:
        groups = shaper.groups(rows, titles)
        # acoustid.org compares only the last release group with the recording's artists.
        if shaper.compress and artists is not None and groups[-1].get("artists") == artists:
            del groups[-1]["artists"]
        element["releasegroups"] = groups
    elif tokens & RELEASE_TOKENS:
        releases = shaper.releases(rows, titles, None)
        if shaper.compress and artists is not None:
            for release in releases:
                if release.get("artists") == artists:
                    del release["artists"]
        element["releases"] = releases


def _m2_tracks(rows: list[Appearance]) -> list[dict[str, Any]]:
    tracks = []
    for a in sorted(rows, key=lambda a: (a.release_id, a.medium_position, a.track_position)):
        medium: dict[str, Any] = {
            "track_count": a.medium_track_count,
            "position": a.medium_position,
            "release": {"id": a.release_gid, "title": a.release_title},
        }
        if a.medium_format:
            medium["format"] = a.medium_format
        track: dict[str, Any] = {
            "title": a.track_title,
            "artists": a.track_artists,
            "position": a.track_position,
            "medium": medium,
        }
        if a.track_length is not None:
            track["duration"] = a.track_length / 1000
        tracks.append(track)
    return tracks


@dataclass
class MusicBrainzData:
    """What the replica knows about the MBIDs of one response."""

    by_mbid: dict[str, Recording]
    """By the MBID asked for, and by the current MBID of each recording found."""
    rows: dict[int, list[Appearance]]
    with_releases: bool

    def current(self, mbid: str) -> str:
        found = self.by_mbid.get(mbid)
        return found.gid if found is not None else mbid

    def has_metadata(self, mbid: str) -> bool:
        """False for unknown MBIDs, and for standalone recordings when release data was
        asked for: the original's inner join finds no row for them."""
        found = self.by_mbid.get(mbid)
        return found is not None and (not self.with_releases or bool(self.rows.get(found.id)))

    @property
    def titles(self) -> dict[int, str]:
        return {r.id: r.title for r in self.by_mbid.values()}


async def _musicbrainz(
    databases: Databases, mbids: set[str], tokens: frozenset[str]
) -> MusicBrainzData:
    with_releases = LEGACY_M2 in tokens or bool(tokens & (RELEASE_TOKENS | GROUP_TOKENS))
    found, appearances = await mb.metadata(databases, mbids, "isrcs" in tokens, with_releases)
    rows: dict[int, list[Appearance]] = defaultdict(list)
    for a in appearances:
        rows[a.recording].append(a)
    by_mbid = {r.gid: r for r in found}
    by_mbid.update((r.requested, r) for r in found)
    return MusicBrainzData(by_mbid, rows, with_releases)


def _merge_links(links: list[Link], data: MusicBrainzData) -> list[Link]:
    """Links under their current MBIDs, in MBID order; two links that MusicBrainz merged
    into one recording become one with their sources added, as ``merge_mbids`` makes them."""
    merged: dict[str, int] = {}
    for link in links:
        current = data.current(link.mbid)
        merged[current] = merged.get(current, 0) + link.sources
    return [Link(mbid, sources) for mbid, sources in sorted(merged.items())]


def _recordings(
    links: list[Link], data: MusicBrainzData, tokens: frozenset[str], shaper: Shaper
) -> list[dict[str, Any]]:
    recordings = []
    for link in links:
        element: dict[str, Any] = {"id": link.mbid}
        if "sources" in tokens:
            element["sources"] = link.sources
        recordings.append(element)
        if not data.has_metadata(link.mbid):
            continue
        found = data.by_mbid[link.mbid]
        rows = data.rows.get(found.id, [])
        if LEGACY_M2 in tokens:
            if found.length is not None:
                element["duration"] = found.length / 1000
            element["tracks"] = _m2_tracks(rows)
            continue
        if "recordingids" not in tokens:
            element.update(_recording_fields(found, tokens))
        if rows:
            _add_release_data(element, rows, shaper, data.titles, found.artists or None)
    return recordings


def _track_release_data(links: list[Link], data: MusicBrainzData, shaper: Shaper) -> dict[str, Any]:
    """Release groups or releases of all of a track's recordings, directly on the result."""
    rows: list[Appearance] = []
    for link in links:
        if data.has_metadata(link.mbid):
            rows.extend(data.rows[data.by_mbid[link.mbid].id])
    element: dict[str, Any] = {}
    if rows:
        _add_release_data(element, rows, shaper, data.titles, None)
    return element


async def attach(
    databases: Databases,
    results: list[list[dict[str, Any]]],
    track_ids: list[list[int]],
    tokens: frozenset[str],
    recordings_key: str = "recordings",
    known_links: dict[int, list[Link]] | None = None,
    report_missing: Callable[[set[str]], None] | None = None,
) -> None:
    """Adds ``recordings`` (or v1's ``tracks``), or ``releasegroups``/``releases``, to each
    result dict in place; links of the tracks in ``known_links`` were read with the search
    and are not read again. MBIDs the replica lacks go to ``report_missing``."""
    every_track = {t for ids in track_ids for t in ids}
    if not tokens or not every_track:
        return
    links: dict[int, list[Link]] = {}
    if wants_links(tokens):
        links = {t: known_links[t] for t in every_track if known_links and t in known_links}
        missing = every_track - links.keys()
        if missing:
            links.update(await _links(databases, missing))
    mbids = {link.mbid for track in links.values() for link in track}
    data = MusicBrainzData({}, {}, False)
    if mbids and (tokens - {"usermeta", "sources", "compress"}):
        data = await _musicbrainz(databases, mbids, tokens)
        unknown = {m for m in mbids if data.by_mbid.get(m) is None or data.current(m) != m}
        if unknown and report_missing is not None:
            report_missing(unknown)
    any_metadata = any(data.has_metadata(m) for m in mbids)
    use_user_meta = "usermeta" in tokens and not any_metadata
    metas = await _user_meta(databases, every_track) if use_user_meta else {}
    shaper = Shaper(tokens)
    as_recordings = bool(tokens & RECORDING_TOKENS) or LEGACY_M2 in tokens
    for query_results, ids in zip(results, track_ids, strict=True):
        for result, track_id in zip(query_results, ids, strict=True):
            track_links = _merge_links(links.get(track_id, []), data)
            if not as_recordings and tokens & (RELEASE_TOKENS | GROUP_TOKENS):
                result.update(_track_release_data(track_links, data, shaper))
                continue
            recordings = _recordings(track_links, data, tokens, shaper) if as_recordings else []
            for meta in metas.get(track_id, ()):
                user = _user_recording(meta, tokens)
                if user:
                    recordings.append(user)
            if recordings:
                result[recordings_key] = recordings
