"""``/v2/submit`` and ``/v2/submission_status`` (and the legacy ``/submit`` through the same
parser): validate everything, store in one transaction, then queue for import.

Nothing is written unless the whole request validates. Rows are committed before the
answer, so an accepted submission exists even if the NATS publish then fails; the outbox
sweep republishes unhandled rows, and ``Nats-Msg-Id`` = id keeps republishes single.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select

from libs.common import fingerprint_codec, submission_queue
from libs.common.db import Database
from libs.common.errors import ErrorCode, WebServiceError
from libs.common.models.fingerprint import Fingerprint, Track
from libs.common.models.ingest import FingerprintSource, Submission
from services.api import fingerprints, metrics
from services.api.endpoint import Call
from services.api.params import Params, parse_batch, parse_int, require_uuid, suffixed

log = logging.getLogger(__name__)

MAX_DURATION = 32767
MAX_TRACK_OR_DISC_NO = 10000
INT4_MAX = 2**31 - 1
_FOREIGNID = re.compile(r"[0-9a-z]+:.+", re.DOTALL)
_SPACES = re.compile(r"[\s\x00]+")
TEXT_META = (
    ("track", "track"),
    ("artist", "artist"),
    ("album", "album"),
    ("albumartist", "album_artist"),
)
INT_META = (("trackno", "track_no"), ("discno", "disc_no"), ("year", "year"))


@dataclass(frozen=True)
class NewSubmission:
    index: str
    fingerprint: list[int]
    length: int
    bitrate: int | None
    format: str | None
    mbids: list[uuid.UUID]
    puid: uuid.UUID | None
    foreignid: str | None
    meta: dict[str, str | int] | None

    @property
    def useful(self) -> bool:
        """acoustid.org drops fingerprints that say nothing about what they are."""
        return bool(self.mbids or self.puid or self.meta)


@dataclass(frozen=True)
class SubmitRequest:
    application_id: int
    account_id: int
    version: str | None
    submissions: list[NewSubmission]
    suffixed: bool


def _text(value: str | None) -> str | None:
    cleaned = _SPACES.sub(" ", value or "").strip()
    return cleaned or None


def fix_meta(params: Params, suffix: str) -> dict[str, str | int] | None:
    """Non-empty text fields with whitespace runs collapsed; lenient integers, absurd ones
    dropped. Keys in the order the worker hashes them into the meta gid."""
    meta: dict[str, str | int] = {}
    for name, key in TEXT_META:
        text = _text(params.get(suffixed(name, suffix)))
        if text is not None:
            meta[key] = text
    for name, key in INT_META:
        number = parse_int(params.get(suffixed(name, suffix)))
        if not number or not 0 < number <= INT4_MAX:
            continue
        if key != "year" and number > MAX_TRACK_OR_DISC_NO:
            continue
        meta[key] = number
    return meta or None


def _duration(params: Params, suffix: str, legacy: bool) -> int:
    name = suffixed("length" if legacy else "duration", suffix)
    duration = parse_int(params.get(name))
    if legacy:
        # v1 knows one error for a length it cannot store, as the original: missing, zero,
        # too long, and (which the original let through to a database error) negative.
        if duration is None or not 0 < duration <= MAX_DURATION:
            raise WebServiceError(ErrorCode.MISSING_PARAMETER, name)
        return duration
    if duration is None:
        raise WebServiceError(ErrorCode.MISSING_PARAMETER, name)
    if not 0 < duration <= MAX_DURATION:
        raise WebServiceError(ErrorCode.INVALID_DURATION, name)
    return duration


def _bitrate(params: Params, suffix: str) -> int | None:
    name = suffixed("bitrate", suffix)
    bitrate = parse_int(params.get(name))
    if not bitrate:
        return None
    if not 0 < bitrate <= MAX_DURATION:
        raise WebServiceError(ErrorCode.INVALID_BITRATE, name)
    return bitrate


def parse_submission(params: Params, suffix: str, legacy: bool) -> NewSubmission:
    name = suffixed("fingerprint", suffix)
    text = params.get(name)
    if not text:
        raise WebServiceError(ErrorCode.MISSING_PARAMETER, name)
    items = fingerprints.decode(text)
    length = _duration(params, suffix, legacy)
    bitrate = _bitrate(params, suffix)
    mbid_name = suffixed("mbid", suffix)
    mbids = [require_uuid(v, mbid_name) for v in params.getall(mbid_name) if v]
    puid_name = suffixed("puid", suffix)
    puid_text = params.get(puid_name)
    puid = require_uuid(puid_text, puid_name) if puid_text else None
    foreignid_name = suffixed("foreignid", suffix)
    foreignid = params.get(foreignid_name) or None
    if foreignid is not None and not _FOREIGNID.fullmatch(foreignid):
        raise WebServiceError(ErrorCode.INVALID_FOREIGNID, foreignid_name)
    file_format = _text(params.get(suffixed("format" if legacy else "fileformat", suffix)))
    return NewSubmission(
        index=suffix,
        fingerprint=fingerprint_codec.to_int4(items),
        length=length,
        bitrate=bitrate,
        format=file_format,
        mbids=list(dict.fromkeys(mbids)),
        puid=puid,
        foreignid=foreignid,
        meta=fix_meta(params, suffix),
    )


async def parse_submit_request(call: Call, legacy: bool) -> SubmitRequest:
    application_id = await call.application()
    account_id = await call.account()
    parse_int(call.params.get("wait"))
    suffixes = call.params.suffixes("fingerprint")
    if not suffixes:
        raise WebServiceError(ErrorCode.MISSING_PARAMETER, "fingerprint")
    parsed = parse_batch(suffixes, lambda s: parse_submission(call.params, s, legacy))
    return SubmitRequest(
        application_id=application_id,
        account_id=account_id,
        version=call.params.get("clientversion") or None,
        submissions=[submission for _, submission in parsed],
        suffixed=any(suffixes),
    )


async def parse_submit(call: Call) -> SubmitRequest:
    return await parse_submit_request(call, legacy=False)


async def parse_legacy_submit(call: Call) -> SubmitRequest:
    return await parse_submit_request(call, legacy=True)


def _rows(request: SubmitRequest) -> list[tuple[str, dict[str, Any]]]:
    """One row per MBID (or one without), as acoustid.org stores them."""
    rows = []
    for sub in request.submissions:
        if not sub.useful:
            continue
        common = {
            "fingerprint": sub.fingerprint,
            "length": sub.length,
            "bitrate": sub.bitrate,
            "format": sub.format,
            "puid": sub.puid,
            "meta": sub.meta,
            "foreignid": sub.foreignid,
            "account_id": request.account_id,
            "application_id": request.application_id,
            "application_version": request.version,
        }
        mbids: list[uuid.UUID | None] = list(sub.mbids) or [None]
        for mbid in mbids:
            rows.append((sub.index, {**common, "mbid": mbid}))
    return rows


async def _publish(call: Call, ids: list[int]) -> None:
    """Queue each stored row; a failure leaves the row to the outbox sweep, never lost."""
    nc = call.api.resources.nats
    if nc is None or not nc.is_connected:
        metrics.UNPUBLISHED_SUBMISSIONS.inc(len(ids))
        log.warning("nats not connected; %d submissions left to the outbox sweep", len(ids))
        return
    js = nc.jetstream()
    results = await asyncio.gather(
        *(submission_queue.publish(js, call.settings, i) for i in ids), return_exceptions=True
    )
    failed = [i for i, r in zip(ids, results, strict=True) if isinstance(r, BaseException)]
    if failed:
        metrics.UNPUBLISHED_SUBMISSIONS.inc(len(failed))
        log.warning("cannot publish submissions %s; left to the outbox sweep", failed)


async def run_submit(call: Call, request: SubmitRequest) -> dict[str, Any]:
    rows = _rows(request)
    ids: list[int] = []
    if rows:
        async with call.api.resources.databases.session(Database.INGEST) as session:
            result = await session.execute(
                insert(Submission).returning(Submission.id, sort_by_parameter_order=True),
                [values for _, values in rows],
            )
            ids = list(result.scalars())
            await session.commit()
        metrics.NEW_SUBMISSIONS.inc(len(ids))
        await _publish(call, ids)
    submissions = []
    for (index, _), submission_id in zip(rows, ids, strict=True):
        item: dict[str, Any] = {"id": submission_id, "status": "pending"}
        if request.suffixed:
            item["index"] = index
        submissions.append(item)
    return {"submissions": submissions}


async def parse_submission_status(call: Call) -> list[int]:
    await call.application()
    values = (parse_int(v) for v in call.params.getall("id"))
    return [v for v in values if v is not None]


async def _imported_tracks(call: Call, ids: list[int]) -> dict[int, str]:
    """Submission id -> AcoustID, for submissions the worker turned into a fingerprint."""
    valid = sorted({i for i in ids if 0 < i <= INT4_MAX})
    if not valid:
        return {}
    databases = call.api.resources.databases
    async with databases.session(Database.INGEST) as session:
        result = await session.execute(
            select(FingerprintSource.submission_id, FingerprintSource.fingerprint_id)
            .where(FingerprintSource.submission_id.in_(valid))
            .order_by(FingerprintSource.id)
        )
        sources = {submission_id: fingerprint_id for submission_id, fingerprint_id in result}
    if not sources:
        return {}
    async with databases.session(Database.FINGERPRINT) as session:
        result = await session.execute(
            select(Fingerprint.id, Track.gid)
            .join(Track, Track.id == Fingerprint.track_id)
            .where(Fingerprint.id.in_(set(sources.values())))
        )
        gids = {fingerprint_id: str(gid) for fingerprint_id, gid in result}
    return {s: gids[f] for s, f in sources.items() if f in gids}


async def run_submission_status(call: Call, ids: list[int]) -> dict[str, Any]:
    """``imported`` once the worker recorded which fingerprint the submission became."""
    tracks = await _imported_tracks(call, ids)
    submissions: list[dict[str, Any]] = []
    for submission_id in ids:
        item: dict[str, Any] = {"id": submission_id, "status": "pending"}
        if submission_id in tracks:
            item.update(status="imported", result={"id": tracks[submission_id]})
        submissions.append(item)
    return {"submissions": submissions}
