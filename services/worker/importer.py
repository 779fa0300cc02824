"""Imports one submission: exactly once in effect, whatever crashes or redeliveries happen.

Three databases, no two-phase commit, so the order carries the guarantee:

1. ``ingest``: lock the submission row (``FOR UPDATE``) for the whole import; if it is
   already handled there is nothing to do but republish its fingerprint to the index.
2. ``app``: find or create its source and format (unique keys make this idempotent).
3. ``fingerprint``: unless a ``submission_import`` row says this submission was already
   applied here, match, insert or reuse the fingerprint, pick the track, count the links, and
   write that row, all in one transaction.
4. ``ingest``: provenance rows, ``submission_result`` and ``handled = true`` in one
   transaction, which also releases the lock.

A crash before 3 commits changes nothing; between 3 and 4 the redelivery replays 4 with the
recorded ids; after 4 it only republishes. The caller publishes to ``FPINDEX`` (deduplicated
by fingerprint id) and acknowledges the message only after this returns.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from libs.chromaprint_cy.compare import simhash
from libs.chromaprint_cy.query import extract_query
from libs.common.db import Database, Databases
from libs.common.meta import clean_meta, meta_gid
from libs.common.models.app import Format, Source
from libs.common.models.fingerprint import (
    Fingerprint,
    ForeignId,
    ForeignIdVendor,
    Meta,
    SubmissionImport,
    Track,
    TrackForeignId,
    TrackMBID,
    TrackMeta,
    TrackPUID,
)
from libs.common.models.ingest import (
    FingerprintSource,
    Submission,
    SubmissionResult,
    TrackForeignIdSource,
    TrackMBIDSource,
    TrackMetaSource,
    TrackPUIDSource,
)
from services.worker.matching import (
    Candidate,
    Match,
    Rules,
    eligible,
    first_tracks,
    score_candidates,
)

Searcher = Callable[[np.ndarray], Awaitable[Sequence[int]]]
"""Index search: query terms in, candidate fingerprint ids out (best first)."""

NIL_UUID = uuid.UUID(int=0)
ID_CACHE_SIZE = 100_000
IMPORT_LOCK_CLASS = 0x1A0C  # advisory-lock namespace of "same audio being imported"


class Outcome(StrEnum):
    IMPORTED = "imported"
    ALREADY = "already"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Result:
    submission_id: int
    outcome: Outcome
    fingerprint_id: int | None = None
    track_id: int | None = None
    terms: np.ndarray | None = None
    reason: str = ""


class PermanentError(Exception):
    """The submission can never be imported (it does not exist); dead-letter it."""


def to_items(values: Sequence[int]) -> np.ndarray:
    """``int4[]`` from PostgreSQL as the uint32 items Chromaprint works on."""
    return np.asarray(values, dtype=np.int64).astype(np.uint32)


def to_int4(items: np.ndarray) -> list[int]:
    return [int(v) for v in np.asarray(items, dtype=np.uint32).view(np.int32)]


def rejection(sub: Submission, items: np.ndarray, terms: np.ndarray, min_unique: int) -> str:
    """Why the original importer would skip this submission, or ``""``."""
    has_mbid = sub.mbid is not None and sub.mbid != NIL_UUID
    has_puid = sub.puid is not None and sub.puid != NIL_UUID
    if not (has_mbid or has_puid or clean_meta(sub.meta) or sub.foreignid):
        return "no metadata"
    if len(np.unique(items)) < min_unique:
        return "too few unique items"
    if len(terms) == 0:
        return "empty query"
    return ""


@dataclass(frozen=True)
class Links:
    track_mbid_id: int | None
    track_puid_id: int | None
    track_meta_id: int | None
    track_foreignid_id: int | None
    meta_id: int | None


class Importer:
    def __init__(self, databases: Databases, search: Searcher, rules: Rules, min_unique: int):
        self.databases = databases
        self.search = search
        self.rules = rules
        self.min_unique = min_unique
        self._ids: dict[tuple[Any, ...], int] = {}

    async def run(self, submission_id: int) -> Result:
        async with self.databases.session(Database.INGEST) as ingest, ingest.begin():
            sub = await ingest.scalar(
                select(Submission).where(Submission.id == submission_id).with_for_update()
            )
            if sub is None:
                raise PermanentError(f"submission {submission_id} does not exist")
            if sub.handled:
                return await self._already(ingest, sub)
            items = to_items(sub.fingerprint)
            terms = extract_query(items)
            reason = rejection(sub, items, terms, self.min_unique)
            if reason:
                await self._mark_handled(ingest, sub)
                return Result(sub.id, Outcome.REJECTED, reason=reason)
            source_id, format_id = await self._source_and_format(sub)
            marker = await self._apply(sub, items, terms, format_id)
            await self._record(ingest, sub, marker, source_id)
            return Result(
                sub.id, Outcome.IMPORTED, marker.fingerprint_id, marker.track_id, terms=terms
            )

    async def _already(self, ingest: AsyncSession, sub: Submission) -> Result:
        result = await ingest.get(SubmissionResult, sub.id)
        if result is None:
            return Result(sub.id, Outcome.REJECTED, reason="handled earlier without a result")
        async with self.databases.session(Database.FINGERPRINT) as fp:
            row = await fp.get(Fingerprint, result.fingerprint_id)
        terms = extract_query(to_items(row.fingerprint)) if row is not None else None
        return Result(sub.id, Outcome.ALREADY, result.fingerprint_id, result.track_id, terms)

    async def _mark_handled(self, ingest: AsyncSession, sub: Submission) -> None:
        await ingest.execute(
            update(Submission)
            .where(Submission.id == sub.id)
            .values(handled=True, handled_at=func.now())
        )

    async def _source_and_format(self, sub: Submission) -> tuple[int | None, int | None]:
        source_id = sub.source_id
        if source_id is None and sub.application_id and sub.account_id:
            source = {
                "application_id": sub.application_id,
                "account_id": sub.account_id,
                "version": sub.application_version,
            }
            source_id = await self._app_row_id(Source, source)
        format_id = await self._app_row_id(Format, {"name": sub.format}) if sub.format else None
        return source_id, format_id

    async def _app_row_id(self, model: Any, values: dict[str, Any]) -> int:
        """Sources and formats never change once created, so their ids are cached per process."""
        cache_key = (model.__tablename__, *values.values())
        if cache_key not in self._ids:
            if len(self._ids) >= ID_CACHE_SIZE:
                self._ids.clear()
            async with self.databases.session(Database.APP) as app, app.begin():
                self._ids[cache_key] = await _upsert_id(app, model, values, list(values))
        return self._ids[cache_key]

    async def _apply(
        self, sub: Submission, items: np.ndarray, terms: np.ndarray, format_id: int | None
    ) -> SubmissionImport:
        async with self.databases.session(Database.FINGERPRINT) as fp, fp.begin():
            marker = await fp.get(SubmissionImport, sub.id)
            if marker is not None:
                return marker
            # Two workers importing the same audio at once would each create a track.
            await fp.execute(
                text("SELECT pg_advisory_xact_lock(:cls, :key)"),
                {"cls": IMPORT_LOCK_CLASS, "key": _signed32(simhash(items))},
            )
            match = await self._match(fp, items, sub.length, terms)
            if match is not None and match.score > self.rules.fingerprint_threshold:
                fingerprint_id, track_id, new = match.fingerprint_id, match.track_id, False
                await fp.execute(
                    update(Fingerprint)
                    .where(Fingerprint.id == fingerprint_id)
                    .values(submission_count=Fingerprint.submission_count + 1, updated=func.now())
                )
            else:
                track_id = match.track_id if match is not None else await _new_track(fp)
                fingerprint_id = await _scalar_id(
                    fp,
                    insert(Fingerprint)
                    .values(
                        fingerprint=to_int4(items),
                        length=sub.length,
                        bitrate=sub.bitrate,
                        format_id=format_id,
                        track_id=track_id,
                        submission_count=1,
                    )
                    .returning(Fingerprint.id),
                )
                new = True
            links = await self._link(fp, sub, track_id)
            marker = SubmissionImport(
                submission_id=sub.id,
                fingerprint_id=fingerprint_id,
                track_id=track_id,
                new_fingerprint=new,
                track_mbid_id=links.track_mbid_id,
                track_puid_id=links.track_puid_id,
                track_meta_id=links.track_meta_id,
                track_foreignid_id=links.track_foreignid_id,
                meta_id=links.meta_id,
            )
            fp.add(marker)
        return marker

    async def _match(
        self, fp: AsyncSession, items: np.ndarray, length: int, terms: np.ndarray
    ) -> Match | None:
        ids = list(await self.search(terms))
        if not ids:
            return None
        rows = await fp.execute(
            select(
                Fingerprint.id, Fingerprint.track_id, Fingerprint.length, Fingerprint.fingerprint
            )
            .where(Fingerprint.id.in_(ids))
            .where(func.abs(Fingerprint.length - length) <= self.rules.max_length_diff)
        )
        candidates = [Candidate(r.id, r.track_id, r.length, to_items(r.fingerprint)) for r in rows]
        matches = await asyncio.to_thread(score_candidates, items, length, candidates, self.rules)
        for match in first_tracks(matches):
            track = await fp.execute(
                select(Fingerprint.id, Fingerprint.length, Fingerprint.fingerprint).where(
                    Fingerprint.track_id == match.track_id
                )
            )
            members = [
                Candidate(r.id, match.track_id, r.length, to_items(r.fingerprint)) for r in track
            ]
            if await asyncio.to_thread(eligible, items, length, members, self.rules):
                return match
        return None

    async def _link(self, fp: AsyncSession, sub: Submission, track_id: int) -> Links:
        track_mbid_id = track_puid_id = track_meta_id = track_foreignid_id = meta_id = None
        if sub.mbid is not None and sub.mbid != NIL_UUID:
            track_mbid_id = await _count_link(fp, TrackMBID, track_id, "mbid", sub.mbid)
        if sub.puid is not None and sub.puid != NIL_UUID:
            track_puid_id = await _count_link(fp, TrackPUID, track_id, "puid", sub.puid)
        meta = clean_meta(sub.meta)
        if meta:
            meta_id = await _upsert_id(fp, Meta, {**meta, "gid": meta_gid(meta)}, ["gid"])
            track_meta_id = await _count_link(fp, TrackMeta, track_id, "meta_id", meta_id)
        if sub.foreignid:
            vendor, _, name = sub.foreignid.partition(":")
            vendor_id = await _upsert_id(fp, ForeignIdVendor, {"name": vendor}, ["name"])
            foreignid_id = await _upsert_id(
                fp, ForeignId, {"vendor_id": vendor_id, "name": name}, ["vendor_id", "name"]
            )
            track_foreignid_id = await _count_link(
                fp, TrackForeignId, track_id, "foreignid_id", foreignid_id
            )
        return Links(track_mbid_id, track_puid_id, track_meta_id, track_foreignid_id, meta_id)

    async def _record(
        self, ingest: AsyncSession, sub: Submission, marker: SubmissionImport, source_id: int | None
    ) -> None:
        if source_id is not None:
            provenance: list[tuple[Any, str, int | None]] = [
                (FingerprintSource, "fingerprint_id", marker.fingerprint_id),
                (TrackMBIDSource, "track_mbid_id", marker.track_mbid_id),
                (TrackPUIDSource, "track_puid_id", marker.track_puid_id),
                (TrackMetaSource, "track_meta_id", marker.track_meta_id),
                (TrackForeignIdSource, "track_foreignid_id", marker.track_foreignid_id),
            ]
            for model, column, value in provenance:
                if value is not None:
                    ingest.add(model(submission_id=sub.id, source_id=source_id, **{column: value}))
        ingest.add(
            SubmissionResult(
                submission_id=sub.id,
                handled_at=func.now(),
                account_id=sub.account_id or 0,
                application_id=sub.application_id or 0,
                application_version=sub.application_version,
                fingerprint_id=marker.fingerprint_id,
                track_id=marker.track_id,
                meta_gid=meta_gid(sub.meta) if marker.meta_id is not None else None,
                meta_id=marker.meta_id,
                mbid=sub.mbid,
                puid=sub.puid,
                foreignid=sub.foreignid,
            )
        )
        await self._mark_handled(ingest, sub)


def _signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


async def _scalar_id(session: AsyncSession, stmt: Any) -> int:
    """The id a statement returns; a statement that returns none is a bug, not data."""
    value = await session.scalar(stmt)
    if value is None:
        raise RuntimeError(f"no id returned by {stmt}")
    return int(value)


async def _new_track(fp: AsyncSession) -> int:
    return await _scalar_id(fp, insert(Track).values(gid=uuid.uuid4()).returning(Track.id))


async def _upsert_id(
    session: AsyncSession, model: Any, values: dict[str, Any], keys: list[str]
) -> int:
    """The id of the row with these key values, inserting it first if needed (race-safe)."""
    await session.execute(insert(model).values(**values).on_conflict_do_nothing())
    query = select(model.id)
    for key in keys:
        column = getattr(model, key)
        query = query.where(column.is_(None) if values[key] is None else column == values[key])
    return await _scalar_id(session, query.order_by(model.id).limit(1))


async def _count_link(fp: AsyncSession, model: Any, track_id: int, column: str, value: Any) -> int:
    """One more submission saying ``value`` belongs to the track; the link's id."""
    stmt = insert(model).values(track_id=track_id, submission_count=1, **{column: value})
    stmt = stmt.on_conflict_do_update(
        index_elements=["track_id", column],
        set_={"submission_count": model.submission_count + 1, "updated": func.now()},
    )
    return await _scalar_id(fp, stmt.returning(model.id))
