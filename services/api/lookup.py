"""``/v2/lookup`` and the legacy ``/lookup``: fingerprints (or AcoustIDs) in, tracks out.

Every suffix is parsed on its own (the batch rule of :func:`parse_batch`); without
``batch`` only the first parsed query runs. Counters go to Redis after the answer is
computed and never fail a lookup.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ARRAY, Uuid, any_, bindparam, select

from libs.common.db import Database
from libs.common.errors import ErrorCode, WebServiceError
from libs.common.models.fingerprint import Track
from libs.common.musicbrainz import missing
from services.api import fingerprints, metadata, metrics
from services.api.endpoint import Call
from services.api.params import Params, parse_batch, parse_int, require_uuid, suffixed
from services.api.search import FingerprintQuery

DEFAULT_MAX_DURATION_DIFF = 7
MAX_ALLOWED_DURATION_DIFF = 30
MAX_FINGERPRINT_QUERIES = 20
MAX_TRACK_QUERIES = 100


_TRACKS = select(Track.gid, Track.id, Track.new_id).where(
    Track.gid == any_(bindparam("gids", type_=ARRAY(Uuid())))
)


@dataclass(frozen=True)
class TrackQuery:
    gid: uuid.UUID
    text: str


Query = FingerprintQuery | TrackQuery


@dataclass(frozen=True)
class LookupRequest:
    application_id: int
    tokens: frozenset[str]
    max_diff: int
    batch: bool
    queries: list[tuple[str, Query]]


def parse_query(params: Params, suffix: str, duration_name: str) -> Query:
    trackid_name = suffixed("trackid", suffix)
    trackid = params.get(trackid_name)
    if trackid is not None:
        return TrackQuery(require_uuid(trackid, trackid_name), trackid)
    name = suffixed("fingerprint", suffix)
    text = params.get(name)
    if not text:
        raise WebServiceError(ErrorCode.MISSING_PARAMETER, name)
    items = fingerprints.decode(text)
    duration_param = suffixed(duration_name, suffix)
    duration = parse_int(params.get(duration_param))
    if not duration:
        raise WebServiceError(ErrorCode.MISSING_PARAMETER, duration_param)
    return FingerprintQuery(items, duration)


def parse_max_diff(params: Params) -> int:
    value = parse_int(params.get("maxdurationdiff"))
    if value is None:
        return DEFAULT_MAX_DURATION_DIFF
    if not 1 <= value <= MAX_ALLOWED_DURATION_DIFF:
        raise WebServiceError(ErrorCode.INVALID_MAX_DURATION_DIFF, "maxdurationdiff")
    return value


async def parse_lookup_request(call: Call, legacy: bool) -> LookupRequest:
    application_id = await call.application()
    if legacy:
        meta = call.params.get("meta")
        tokens = frozenset({"recordingids"}) if meta and meta != "0" else frozenset()
    else:
        tokens = metadata.parse_meta(call.params.get("meta"))
    max_diff = parse_max_diff(call.params)
    batch = bool(parse_int(call.params.get("batch")))
    suffixes = call.params.suffixes("fingerprint", "trackid")
    if not suffixes:
        raise WebServiceError(ErrorCode.MISSING_PARAMETER, "fingerprint")
    duration_name = "length" if legacy else "duration"
    queries = parse_batch(suffixes, lambda s: parse_query(call.params, s, duration_name))
    if batch:
        prints = sum(isinstance(q, FingerprintQuery) for _, q in queries)
        if prints > MAX_FINGERPRINT_QUERIES or len(queries) - prints > MAX_TRACK_QUERIES:
            raise WebServiceError(ErrorCode.REQUEST_TOO_LARGE)
    else:
        queries = queries[:1]
    return LookupRequest(application_id, tokens, max_diff, batch, queries)


async def parse_lookup(call: Call) -> LookupRequest:
    return await parse_lookup_request(call, legacy=False)


async def parse_legacy_lookup(call: Call) -> LookupRequest:
    return await parse_lookup_request(call, legacy=True)


async def _resolve_tracks(call: Call, queries: list[TrackQuery]) -> dict[uuid.UUID, int]:
    """AcoustID -> track id, following a merged track's ``new_id`` one hop."""
    if not queries:
        return {}
    rows = await call.api.resources.databases.fetch(
        Database.FINGERPRINT, _TRACKS, {"gids": list({q.gid for q in queries})}
    )
    return {gid: new_id or track_id for gid, track_id, new_id in rows}


def _count(call: Call, request: LookupRequest, hits: list[bool]) -> None:
    counters = call.api.counters
    if counters is None:
        return
    now = datetime.now(UTC)
    counters.add_lookups(now, request.application_id, hits)
    user_agent = call.request.headers.get("user-agent", "")
    counters.add_user_agent(now, request.application_id, user_agent, call.ip)


async def execute(call: Call, request: LookupRequest, recordings_key: str) -> dict[str, Any]:
    prints = [q for _, q in request.queries if isinstance(q, FingerprintQuery)]
    tracks = [q for _, q in request.queries if isinstance(q, TrackQuery)]
    found_prints = await call.api.searcher.search(
        prints, request.max_diff, with_links=metadata.wants_links(request.tokens)
    )
    matches = iter(found_prints.matches)
    resolved = await _resolve_tracks(call, tracks)
    results: list[list[dict[str, Any]]] = []
    track_ids: list[list[int]] = []
    for _, query in request.queries:
        if isinstance(query, FingerprintQuery):
            found = next(matches)
            metrics.LOOKUP_SEARCHES.inc()
            if found:
                metrics.LOOKUP_MATCHES.inc()
            results.append([{"id": m.gid, "score": m.score} for m in found])
            track_ids.append([m.track_id for m in found])
        elif query.gid in resolved:
            results.append([{"id": query.text, "score": 1.0}])
            track_ids.append([resolved[query.gid]])
        else:
            results.append([])
            track_ids.append([])
    await metadata.attach(
        call.api.resources.databases,
        results,
        track_ids,
        request.tokens,
        recordings_key,
        found_prints.links,
        lambda mbids: missing.report_in_background(
            call.api.resources.redis, call.api.settings, mbids
        ),
    )
    _count(call, request, [bool(r) for r in results])
    if not request.batch:
        return {"results": results[0]}
    return {
        "fingerprints": [
            {"index": int(suffix) if suffix else None, "results": query_results}
            for (suffix, _), query_results in zip(request.queries, results, strict=True)
        ]
    }


async def run_lookup(call: Call, request: LookupRequest) -> dict[str, Any]:
    return await execute(call, request, "recordings")


async def run_legacy_lookup(call: Call, request: LookupRequest) -> dict[str, Any]:
    return await execute(call, request, "tracks")
