"""Read-only track endpoints that need no client key: ``list_by_mbid``, ``list_by_puid``,
``fingerprint``. The MusicBrainz "Fingerprints" tab calls ``list_by_mbid`` anonymously."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from libs.common.db import Database
from libs.common.errors import ErrorCode, WebServiceError
from libs.common.models.fingerprint import Fingerprint, Track, TrackMBID
from services.api.endpoint import Call
from services.api.params import parse_int, require_uuid


@dataclass(frozen=True)
class ListByMBID:
    mbids: list[uuid.UUID]
    batch: bool
    disabled: bool


async def parse_list_by_mbid(call: Call) -> ListByMBID:
    values = [v for v in call.params.getall("mbid")]
    if not any(values):
        raise WebServiceError(ErrorCode.MISSING_PARAMETER, "mbid")
    mbids = [require_uuid(v, "mbid") for v in values]
    return ListByMBID(
        mbids,
        bool(parse_int(call.params.get("batch"))),
        bool(parse_int(call.params.get("disabled"))),
    )


async def run_list_by_mbid(call: Call, query: ListByMBID) -> dict[str, Any]:
    wanted = query.mbids if query.batch else query.mbids[:1]
    stmt = (
        select(TrackMBID.mbid, Track.gid, TrackMBID.disabled)
        .join(Track, Track.id == TrackMBID.track_id)
        .where(TrackMBID.mbid.in_(wanted))
    )
    if not query.disabled:
        stmt = stmt.where(TrackMBID.disabled.is_(False))
    tracks: dict[uuid.UUID, list[dict[str, Any]]] = {mbid: [] for mbid in wanted}
    async with call.api.resources.databases.read_session(Database.FINGERPRINT) as session:
        for mbid, gid, disabled in await session.execute(stmt):
            track: dict[str, Any] = {"id": str(gid)}
            if disabled:
                track["disabled"] = True
            tracks[mbid].append(track)
    if not query.batch:
        return {"tracks": tracks[wanted[0]]}
    return {"mbids": [{"mbid": str(mbid), "tracks": tracks[mbid]} for mbid in query.mbids]}


async def parse_list_by_puid(call: Call) -> uuid.UUID:
    value = call.params.get("puid")
    if not value:
        raise WebServiceError(ErrorCode.MISSING_PARAMETER, "puid")
    return require_uuid(value, "puid")


async def run_list_by_puid(call: Call, puid: uuid.UUID) -> dict[str, Any]:
    """PUIDs were retired by MusicIP; acoustid.org answers every PUID with no tracks."""
    return {"tracks": []}


async def parse_fingerprint(call: Call) -> int:
    fingerprint_id = parse_int(call.params.get("id"))
    if not fingerprint_id:
        raise WebServiceError(ErrorCode.MISSING_PARAMETER, "id")
    return fingerprint_id


async def run_fingerprint(call: Call, fingerprint_id: int) -> dict[str, Any]:
    if not -(2**31) <= fingerprint_id < 2**31:
        raise WebServiceError(ErrorCode.FINGERPRINT_NOT_FOUND)
    async with call.api.resources.databases.read_session(Database.FINGERPRINT) as session:
        row = (
            await session.execute(
                select(Fingerprint.fingerprint, Fingerprint.length).where(
                    Fingerprint.id == fingerprint_id
                )
            )
        ).first()
    if row is None:
        raise WebServiceError(ErrorCode.FINGERPRINT_NOT_FOUND)
    return {"fingerprint": {"id": fingerprint_id, "hashes": list(row[0]), "duration": row[1]}}
