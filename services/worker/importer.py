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
recorded ids; after 4 it only republishes. The caller publishes to ``FPINDEX`` (one message
per shard and batch, deduplicated by its fingerprint ids; inserting an id again replaces it)
and acknowledges the message only after that publish is acknowledged.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, cast

import numpy as np
from sqlalchemy import Table, bindparam, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from libs.chromaprint_cy.compare import simhash
from libs.chromaprint_cy.query import extract_query
from libs.common import fingerprint_codec
from libs.common.db import Database, Databases
from libs.common.meta import META_FIELDS, clean_meta, meta_gid
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
from services.worker.matching import Candidate, Rules, choose

BatchSearcher = Callable[[Sequence[np.ndarray]], Awaitable[Sequence[Sequence[int]]]]
"""The index searches of a batch: query terms in, one list of candidate fingerprint ids
(best first) per query, in query order."""

NIL_UUID = uuid.UUID(int=0)
LINKS: dict[str, tuple[Any, str]] = {
    "track_mbid_id": (TrackMBID, "mbid"),
    "track_puid_id": (TrackPUID, "puid"),
    "track_meta_id": (TrackMeta, "meta_id"),
    "track_foreignid_id": (TrackForeignId, "foreignid_id"),
}
"""The link kinds a submission counts: marker field -> (model, value column)."""
MARKER_COLUMNS = (
    "submission_id",
    "fingerprint_id",
    "track_id",
    "new_fingerprint",
    "meta_id",
    *LINKS,
)
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


@dataclass
class Pending:
    """A submission being imported in this batch, and what has been decided for it."""

    sub: Submission
    items: np.ndarray
    terms: np.ndarray
    source_id: int | None
    format_id: int | None
    candidates: Sequence[int] = ()
    fingerprint_id: int = 0
    track_id: int = 0
    new_fingerprint: bool = False
    meta: dict[str, Any] = field(default_factory=dict)


class _Placeholders:
    """Negative ids for tracks and fingerprints decided in a batch but not inserted yet."""

    def __init__(self) -> None:
        self.count = 0

    def next(self) -> int:
        self.count += 1
        return -self.count


class Importer:
    """Imports submissions a batch at a time: one transaction per database per batch.

    Round trips, not CPU, bound an import (a loopback send costs ~0.2 ms here), so every
    query and write of the batch goes in one statement: the row locks, the candidate
    fingerprints, the new tracks and fingerprints, each kind of link, the markers. The
    decisions are made in order in memory, so a later submission of the batch sees the
    fingerprints an earlier one created, as it would have one at a time.
    """

    def __init__(
        self, databases: Databases, search_many: BatchSearcher, rules: Rules, min_unique: int
    ):
        self.databases = databases
        self.search_many = search_many
        self.rules = rules
        self.min_unique = min_unique
        self._ids: dict[tuple[Any, ...], int] = {}

    async def run(self, submission_id: int) -> Result:
        return (await self.run_batch([submission_id]))[0]

    async def run_batch(self, submission_ids: Sequence[int]) -> list[Result]:
        """Results in the order of ``submission_ids``; a missing id raises PermanentError."""
        results: dict[int, Result] = {}
        async with self.databases.session(Database.INGEST) as ingest, ingest.begin():
            rows = await ingest.execute(
                select(Submission, fingerprint_codec.binary(Submission.fingerprint))
                .options(defer(Submission.fingerprint))
                .where(Submission.id.in_(submission_ids))
                .order_by(Submission.id)
                .with_for_update()
            )
            subs: list[Submission] = []
            prints: dict[int, bytes] = {}
            for sub, data in rows:
                subs.append(sub)
                prints[sub.id] = data
            missing = set(submission_ids) - {sub.id for sub in subs}
            if missing:
                raise PermanentError(f"submissions {sorted(missing)} do not exist")
            handled = [sub for sub in subs if sub.handled]
            results.update(await self._already(ingest, handled))
            pending: list[Pending] = []
            rejected: list[int] = []
            for sub in subs:
                if sub.handled:
                    continue
                items = fingerprint_codec.from_binary(prints[sub.id])
                terms = extract_query(items)
                reason = rejection(sub, items, terms, self.min_unique)
                if reason:
                    rejected.append(sub.id)
                    results[sub.id] = Result(sub.id, Outcome.REJECTED, reason=reason)
                    continue
                source_id, format_id = await self._source_and_format(sub)
                pending.append(Pending(sub, items, terms, source_id, format_id))
            if pending:
                markers = await self._apply(pending)
                await self._record(ingest, pending, markers)
                for p in pending:
                    marker = markers[p.sub.id]
                    results[p.sub.id] = Result(
                        p.sub.id,
                        Outcome.IMPORTED,
                        marker.fingerprint_id,
                        marker.track_id,
                        terms=p.terms,
                    )
            done = rejected + [p.sub.id for p in pending]
            if done:
                submission = table_of(Submission)
                await ingest.execute(
                    update(submission)
                    .where(submission.c.id.in_(done))
                    .values(handled=True, handled_at=func.now())
                )
        return [results[i] for i in submission_ids]

    async def _already(self, ingest: AsyncSession, subs: list[Submission]) -> dict[int, Result]:
        """Handled before: their results again, with terms so the index gets them again."""
        if not subs:
            return {}
        rows = {
            r.submission_id: r
            for r in await ingest.scalars(
                select(SubmissionResult).where(
                    SubmissionResult.submission_id.in_([s.id for s in subs])
                )
            )
        }
        async with self.databases.session(Database.FINGERPRINT) as fp:
            query = select(Fingerprint.id, fingerprint_codec.binary(Fingerprint.fingerprint)).where(
                Fingerprint.id.in_([r.fingerprint_id for r in rows.values()])
            )
            prints = {fid: data for fid, data in await fp.execute(query)}
        results = {}
        for sub in subs:
            row = rows.get(sub.id)
            if row is None:
                results[sub.id] = Result(
                    sub.id, Outcome.REJECTED, reason="handled earlier without a result"
                )
                continue
            data = prints.get(row.fingerprint_id)
            terms = extract_query(fingerprint_codec.from_binary(data)) if data is not None else None
            results[sub.id] = Result(
                sub.id, Outcome.ALREADY, row.fingerprint_id, row.track_id, terms
            )
        return results

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

    async def _apply(self, pending: list[Pending]) -> dict[int, SubmissionImport]:
        """The fingerprint-database side of the batch, in one transaction; markers by id."""
        async with self.databases.session(Database.FINGERPRINT) as fp, fp.begin():
            markers = {
                m.submission_id: m
                for m in await fp.scalars(
                    select(SubmissionImport).where(
                        SubmissionImport.submission_id.in_([p.sub.id for p in pending])
                    )
                )
            }
            todo = [p for p in pending if p.sub.id not in markers]
            if not todo:
                return markers
            # Concurrent batches importing the same audio would each create a track; the
            # locks are taken in one order so two batches cannot deadlock on them.
            keys = sorted({_signed32(simhash(p.items)) for p in todo})
            await fp.execute(
                text("SELECT pg_advisory_xact_lock(:cls, k) FROM unnest(CAST(:keys AS int[])) k"),
                {"cls": IMPORT_LOCK_CLASS, "keys": keys},
            )
            # Searched under the locks, so what a concurrent import committed is seen.
            found = await self.search_many([p.terms for p in todo])
            for p, ids in zip(todo, found, strict=True):
                p.candidates = ids
            known, members = await self._candidates(fp, todo)
            await asyncio.to_thread(self._decide, todo, known, members)
            await self._insert(fp, todo)
            for marker in await self._link(fp, todo):
                markers[marker.submission_id] = marker
            await fp.execute(
                insert(table_of(SubmissionImport)),
                [{c: getattr(markers[p.sub.id], c) for c in MARKER_COLUMNS} for p in todo],
            )
        return markers

    async def _candidates(
        self, fp: AsyncSession, todo: list[Pending]
    ) -> tuple[dict[int, Candidate], dict[int, list[Candidate]]]:
        """Every candidate fingerprint of the batch, and every fingerprint of their tracks."""
        ids = {i for p in todo for i in p.candidates}
        if not ids:
            return {}, {}
        tracks = select(Fingerprint.track_id).where(Fingerprint.id.in_(ids))
        rows = await fp.execute(
            select(
                Fingerprint.id,
                Fingerprint.track_id,
                Fingerprint.length,
                fingerprint_codec.binary(Fingerprint.fingerprint),
            ).where(Fingerprint.track_id.in_(tracks))
        )
        members: dict[int, list[Candidate]] = {}
        known: dict[int, Candidate] = {}
        for fid, track_id, length, data in rows:
            cand = Candidate(fid, track_id, length, fingerprint_codec.from_binary(data))
            members.setdefault(track_id, []).append(cand)
            if fid in ids:
                known[fid] = cand
        return known, members

    def _decide(
        self, todo: list[Pending], known: dict[int, Candidate], members: dict[int, list[Candidate]]
    ) -> None:
        """Reuse, join or create, in order; new fingerprints join the candidates of the rest."""
        placeholders = _Placeholders()
        created: list[Candidate] = []
        for p in todo:
            length = p.sub.length
            candidates = [known[i] for i in p.candidates if i in known] + created
            match = choose(p.items, length, candidates, members, self.rules)
            if match is not None and match.score > self.rules.fingerprint_threshold:
                p.fingerprint_id, p.track_id = match.fingerprint_id, match.track_id
                continue
            p.track_id = match.track_id if match is not None else placeholders.next()
            p.fingerprint_id = placeholders.next()
            p.new_fingerprint = True
            new = Candidate(p.fingerprint_id, p.track_id, length, p.items)
            created.append(new)
            members.setdefault(p.track_id, []).append(new)

    async def _insert(self, fp: AsyncSession, todo: list[Pending]) -> None:
        """New tracks and fingerprints in one statement each; placeholders become ids."""
        new_tracks = sorted({p.track_id for p in todo if p.track_id < 0}, reverse=True)
        tracks: dict[int, int] = {}
        if new_tracks:
            gids = [uuid.uuid4() for _ in new_tracks]
            rows = await fp.execute(
                insert(Track).returning(Track.id, sort_by_parameter_order=True),
                [{"gid": gid} for gid in gids],
            )
            tracks = dict(zip(new_tracks, rows.scalars(), strict=True))
        for p in todo:
            p.track_id = tracks.get(p.track_id, p.track_id)
        creators = [p for p in todo if p.new_fingerprint]
        prints: dict[int, int] = {}
        if creators:
            rows = await fp.execute(
                insert(Fingerprint).returning(Fingerprint.id, sort_by_parameter_order=True),
                [
                    {
                        "fingerprint": fingerprint_codec.to_int4(p.items),
                        "length": p.sub.length,
                        "bitrate": p.sub.bitrate,
                        "format_id": p.format_id,
                        "track_id": p.track_id,
                        "submission_count": 1,
                    }
                    for p in creators
                ],
            )
            prints = dict(zip((p.fingerprint_id for p in creators), rows.scalars(), strict=True))
        reused: dict[int, int] = {}
        for p in todo:
            if p.fingerprint_id in prints:
                if not p.new_fingerprint:
                    reused[prints[p.fingerprint_id]] = reused.get(prints[p.fingerprint_id], 0) + 1
                p.fingerprint_id = prints[p.fingerprint_id]
            elif not p.new_fingerprint:
                reused[p.fingerprint_id] = reused.get(p.fingerprint_id, 0) + 1
        if reused:
            table = table_of(Fingerprint)
            await fp.execute(
                update(table)
                .where(table.c.id == bindparam("fid"))
                .values(
                    submission_count=table.c.submission_count + bindparam("n"), updated=func.now()
                ),
                [{"fid": fid, "n": n} for fid, n in reused.items()],
            )

    async def _link(self, fp: AsyncSession, todo: list[Pending]) -> list[SubmissionImport]:
        """Every link of the batch counted with one statement per kind; a marker per import."""
        metas = [clean_meta(p.sub.meta) for p in todo]
        meta_ids = await _upsert_ids(
            fp,
            Meta,
            [{**dict.fromkeys(META_FIELDS), **m, "gid": meta_gid(m)} for m in metas if m],
            ["gid"],
        )
        foreign = await _foreignid_ids(fp, [p.sub.foreignid for p in todo if p.sub.foreignid])
        links: dict[str, list[tuple[int, Any] | None]] = {kind: [] for kind in LINKS}
        marker_meta_ids: list[int | None] = []
        for p, meta in zip(todo, metas, strict=True):
            sub = p.sub
            has_mbid = sub.mbid is not None and sub.mbid != NIL_UUID
            has_puid = sub.puid is not None and sub.puid != NIL_UUID
            meta_id = meta_ids[(meta_gid(meta),)] if meta else None
            marker_meta_ids.append(meta_id)
            values = {
                "track_mbid_id": sub.mbid if has_mbid else None,
                "track_puid_id": sub.puid if has_puid else None,
                "track_meta_id": meta_id,
                "track_foreignid_id": foreign[sub.foreignid] if sub.foreignid else None,
            }
            for kind, value in values.items():
                links[kind].append(None if value is None else (p.track_id, value))
        ids: dict[str, list[int | None]] = {}
        for kind, keys in links.items():
            model, column = LINKS[kind]
            counted = await _count_links(fp, model, column, [k for k in keys if k is not None])
            ids[kind] = [None if k is None else counted[k] for k in keys]
        return [
            SubmissionImport(
                submission_id=p.sub.id,
                fingerprint_id=p.fingerprint_id,
                track_id=p.track_id,
                new_fingerprint=p.new_fingerprint,
                meta_id=marker_meta_ids[i],
                **{kind: ids[kind][i] for kind in LINKS},
            )
            for i, p in enumerate(todo)
        ]

    async def _record(
        self, ingest: AsyncSession, pending: list[Pending], markers: dict[int, SubmissionImport]
    ) -> None:
        """Provenance and results of the batch: one Core insert per table, no ORM objects."""
        provenance: dict[Any, list[dict[str, Any]]] = {}
        results = []
        for p in pending:
            sub, marker = p.sub, markers[p.sub.id]
            if p.source_id is not None:
                values: list[tuple[Any, str, int | None]] = [
                    (FingerprintSource, "fingerprint_id", marker.fingerprint_id),
                    (TrackMBIDSource, "track_mbid_id", marker.track_mbid_id),
                    (TrackPUIDSource, "track_puid_id", marker.track_puid_id),
                    (TrackMetaSource, "track_meta_id", marker.track_meta_id),
                    (TrackForeignIdSource, "track_foreignid_id", marker.track_foreignid_id),
                ]
                for model, column, value in values:
                    if value is not None:
                        provenance.setdefault(model, []).append(
                            {"submission_id": sub.id, "source_id": p.source_id, column: value}
                        )
            results.append(
                {
                    "submission_id": sub.id,
                    "account_id": sub.account_id or 0,
                    "application_id": sub.application_id or 0,
                    "application_version": sub.application_version,
                    "fingerprint_id": marker.fingerprint_id,
                    "track_id": marker.track_id,
                    "meta_gid": meta_gid(sub.meta) if marker.meta_id is not None else None,
                    "meta_id": marker.meta_id,
                    "mbid": sub.mbid,
                    "puid": sub.puid,
                    "foreignid": sub.foreignid,
                }
            )
        for model, rows in provenance.items():
            await ingest.execute(insert(table_of(model)), rows)
        await ingest.execute(
            insert(table_of(SubmissionResult)).values(handled_at=func.now()), results
        )


def table_of(model: Any) -> Table:
    """The mapped class's table: Core statements on it skip the ORM's per-row bookkeeping."""
    return cast(Table, model.__table__)


def _signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


async def _scalar_id(session: AsyncSession, stmt: Any) -> int:
    """The id a statement returns; a statement that returns none is a bug, not data."""
    value = await session.scalar(stmt)
    if value is None:
        raise RuntimeError(f"no id returned by {stmt}")
    return int(value)


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


async def _upsert_ids(
    session: AsyncSession, model: Any, rows: list[dict[str, Any]], keys: list[str]
) -> dict[tuple[Any, ...], int]:
    """Ids by key values of the rows, inserting those that are missing: one insert and one
    select for a whole batch (race-safe like :func:`_upsert_id`; keys must not be NULL).

    Rows go in key order, so concurrent batches take the unique index's locks in one order.
    """
    unique = {tuple(row[k] for k in keys): row for row in rows}
    if not unique:
        return {}
    table = table_of(model)
    await session.execute(
        insert(table).values([unique[k] for k in sorted(unique)]).on_conflict_do_nothing()
    )
    columns = [table.c[k] for k in keys]
    found = await session.execute(
        select(table.c.id, *columns).where(tuple_(*columns).in_(list(unique)))
    )
    return {tuple(row[1:]): row[0] for row in found}


async def _foreignid_ids(fp: AsyncSession, foreignids: list[str]) -> dict[str, int]:
    """``vendor:name`` -> foreignid id, vendors and ids created as needed, for a batch."""
    parts = {f: f.partition(":") for f in foreignids}
    vendors = await _upsert_ids(
        fp, ForeignIdVendor, [{"name": vendor} for vendor, _, _ in parts.values()], ["name"]
    )
    rows = [{"vendor_id": vendors[(vendor,)], "name": name} for vendor, _, name in parts.values()]
    ids = await _upsert_ids(fp, ForeignId, rows, ["vendor_id", "name"])
    return {f: ids[(vendors[(vendor,)], name)] for f, (vendor, _, name) in parts.items()}


async def _count_links(
    fp: AsyncSession, model: Any, column: str, keys: list[tuple[int, Any]]
) -> dict[tuple[int, Any], int]:
    """One more submission for each (track, value) occurrence, in one statement; ids by key.

    One statement may not update a row twice, so repeats are summed first; the rows go in
    key order so that concurrent batches lock the links they share in the same order.
    """
    if not keys:
        return {}
    counts = sorted(Counter(keys).items())
    table = table_of(model)
    stmt = insert(table).values(
        [{"track_id": t, column: v, "submission_count": n} for (t, v), n in counts]
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["track_id", column],
        set_={
            "submission_count": table.c.submission_count + stmt.excluded.submission_count,
            "updated": func.now(),
        },
    )
    rows = await fp.execute(stmt.returning(table.c.id, table.c.track_id, table.c[column]))
    return {(track_id, value): link_id for link_id, track_id, value in rows}
