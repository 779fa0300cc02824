"""The import rules and their exactly-once guarantee, against the real databases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select, text

from libs.chromaprint_cy.compare import compare2
from libs.chromaprint_cy.query import extract_query
from libs.common import fingerprint_codec
from libs.common.db import Database, Databases
from libs.common.models.fingerprint import Fingerprint, SubmissionImport, TrackMBID, TrackMeta
from libs.common.models.ingest import FingerprintSource, Submission, SubmissionResult
from libs.common.settings import Settings
from services.worker.importer import Outcome, Pending
from tests.worker.fingerprints import clip, variant
from tests.worker.importing import MBID, count, importer, submit

FP_TABLES = "fingerprint, track, track_mbid, track_puid, track_meta, meta, submission_import"
INGEST_TABLES = "submission, submission_result, fingerprint_source, track_mbid_source"


@pytest.fixture
async def databases(migrated: Settings) -> AsyncIterator[Databases]:
    dbs = Databases(migrated)
    async with dbs.engine(Database.FINGERPRINT).begin() as conn:
        await conn.execute(text(f"TRUNCATE {FP_TABLES} RESTART IDENTITY CASCADE"))
    async with dbs.engine(Database.INGEST).begin() as conn:
        await conn.execute(text(f"TRUNCATE {INGEST_TABLES}, track_meta_source RESTART IDENTITY"))
    yield dbs
    await dbs.dispose()


async def test_first_submission_creates_track_fingerprint_and_links(
    databases: Databases, app_ids: tuple[int, int], migrated: Settings
) -> None:
    items = clip("melody_noise")
    sid = await submit(databases, app_ids, items, meta={"track": "Song", "artist": "A"})
    result = await importer(databases, migrated).run(sid)
    assert result.outcome is Outcome.IMPORTED
    assert result.terms is not None and len(result.terms) == 120
    async with databases.session(Database.FINGERPRINT) as fp:
        row = await fp.get(Fingerprint, result.fingerprint_id)
        assert row is not None and row.track_id == result.track_id
        assert np.array_equal(np.asarray(row.fingerprint, dtype=np.int64) & 0xFFFFFFFF, items)
        link = await fp.scalar(select(TrackMBID))
        assert (link.track_id, link.mbid, link.submission_count) == (result.track_id, MBID, 1)
        assert (await fp.scalar(select(TrackMeta))).submission_count == 1
    async with databases.session(Database.INGEST) as ingest:
        sub = await ingest.get(Submission, sid)
        assert sub is not None and sub.handled and sub.handled_at is not None
        res = await ingest.get(SubmissionResult, sid)
        assert res is not None and (res.fingerprint_id, res.track_id, res.mbid) == (
            result.fingerprint_id,
            result.track_id,
            MBID,
        )
        assert await ingest.scalar(select(FingerprintSource.submission_id)) == sid


@pytest.mark.parametrize(
    ("bits", "same_fingerprint", "same_track"),
    [(0, True, True), (1, True, True), (2, False, True), (3, False, True)],
)
async def test_similar_audio_joins_by_the_thresholds(
    databases: Databases,
    app_ids: tuple[int, int],
    migrated: Settings,
    bits: int,
    same_fingerprint: bool,
    same_track: bool,
) -> None:
    items = clip("melody_noise")
    other = variant(items, bits) if bits else items
    score = compare2(items, other, 80)
    assert score > 0.9 if same_fingerprint else 0.75 <= score <= 0.9
    imp = importer(databases, migrated)
    first = await imp.run(await submit(databases, app_ids, items))
    second = await imp.run(await submit(databases, app_ids, other))
    assert (second.fingerprint_id == first.fingerprint_id) is same_fingerprint
    assert (second.track_id == first.track_id) is same_track
    async with databases.session(Database.FINGERPRINT) as fp:
        link = await fp.scalar(select(TrackMBID))
        assert link.submission_count == 2
        counts = list(await fp.scalars(select(Fingerprint.submission_count)))
        assert sorted(counts) == ([2] if same_fingerprint else [1, 1])


async def test_unrelated_audio_gets_a_new_track(
    databases: Databases, app_ids: tuple[int, int], migrated: Settings
) -> None:
    imp = importer(databases, migrated)
    first = await imp.run(await submit(databases, app_ids, clip("melody_noise")))
    second = await imp.run(await submit(databases, app_ids, clip("melody_48k"), length=60))
    assert second.track_id != first.track_id


@pytest.mark.parametrize(
    ("items", "fields", "reason"),
    [
        (clip("melody_noise"), {"mbid": None}, "no metadata"),
        (clip("chord"), {}, "too few unique items"),
    ],
    ids=["no-metadata", "silence-like"],
)
async def test_rejected_submissions_are_handled_without_a_result(
    databases: Databases,
    app_ids: tuple[int, int],
    migrated: Settings,
    items: np.ndarray,
    fields: dict[str, Any],
    reason: str,
) -> None:
    sid = await submit(databases, app_ids, items, **fields)
    result = await importer(databases, migrated).run(sid)
    assert (result.outcome, result.reason) == (Outcome.REJECTED, reason)
    assert await count(databases, Database.FINGERPRINT, Fingerprint) == 0
    assert await count(databases, Database.INGEST, SubmissionResult) == 0
    async with databases.session(Database.INGEST) as ingest:
        assert (await ingest.get(Submission, sid)).handled  # type: ignore[union-attr]


async def test_redelivery_changes_nothing_twice(
    databases: Databases, app_ids: tuple[int, int], migrated: Settings
) -> None:
    imp = importer(databases, migrated)
    sid = await submit(databases, app_ids, clip("melody_noise"))
    first = await imp.run(sid)
    again = await imp.run(sid)
    assert again.outcome is Outcome.ALREADY
    assert (again.fingerprint_id, again.track_id) == (first.fingerprint_id, first.track_id)
    assert again.terms is not None and np.array_equal(again.terms, first.terms)
    async with databases.session(Database.FINGERPRINT) as fp:
        assert (await fp.scalar(select(TrackMBID))).submission_count == 1
    assert await count(databases, Database.INGEST, FingerprintSource) == 1


async def test_crash_between_the_two_commits_finishes_with_the_same_ids(
    databases: Databases, app_ids: tuple[int, int], migrated: Settings
) -> None:
    """The fingerprint side committed, the ingest side did not: the retry completes it."""
    imp = importer(databases, migrated)
    sid = await submit(databases, app_ids, clip("melody_noise"))
    async with databases.session(Database.INGEST) as ingest:
        sub = await ingest.get(Submission, sid)
    assert sub is not None

    items = fingerprint_codec.from_int4(sub.fingerprint)
    terms = extract_query(items)
    pending = Pending(sub, items, terms, None, None)
    marker = (await imp._apply([pending]))[sid]
    result = await imp.run(sid)
    assert (result.outcome, result.fingerprint_id) == (Outcome.IMPORTED, marker.fingerprint_id)
    assert await count(databases, Database.FINGERPRINT, Fingerprint) == 1
    assert await count(databases, Database.FINGERPRINT, SubmissionImport) == 1
    async with databases.session(Database.FINGERPRINT) as fp:
        assert (await fp.scalar(select(TrackMBID))).submission_count == 1


async def test_concurrent_imports_of_the_same_audio_share_one_track(
    databases: Databases, app_ids: tuple[int, int], migrated: Settings
) -> None:
    imp = importer(databases, migrated)
    items = clip("melody_noise")
    ids = [await submit(databases, app_ids, items) for _ in range(4)]
    results = await asyncio.gather(*(imp.run(sid) for sid in ids))
    assert len({r.track_id for r in results}) == 1
    assert len({r.fingerprint_id for r in results}) == 1


async def test_one_batch_sees_its_own_new_fingerprints(
    databases: Databases, app_ids: tuple[int, int], migrated: Settings
) -> None:
    """Imported together, same audio still shares a fingerprint and unrelated audio does not."""
    items = clip("melody_noise")
    ids = [
        await submit(databases, app_ids, items),
        await submit(databases, app_ids, variant(items, 1)),
        await submit(databases, app_ids, variant(items, 2, seed=1)),
        await submit(databases, app_ids, clip("melody_48k"), length=60),
        await submit(databases, app_ids, clip("chord")),
    ]
    results = await importer(databases, migrated).run_batch(ids)
    first, reused, joined, other, rejected = results
    assert reused.fingerprint_id == first.fingerprint_id
    assert joined.track_id == first.track_id and joined.fingerprint_id != first.fingerprint_id
    assert other.track_id != first.track_id
    assert rejected.outcome is Outcome.REJECTED
    async with databases.session(Database.FINGERPRINT) as fp:
        query = select(Fingerprint.id, Fingerprint.submission_count)
        counts = {r.id: r.submission_count for r in await fp.execute(query)}
        link = await fp.scalar(select(TrackMBID).where(TrackMBID.track_id == first.track_id))
    assert counts[first.fingerprint_id] == 2 and counts[joined.fingerprint_id] == 1
    assert link is not None and link.submission_count == 3
    assert await count(databases, Database.INGEST, SubmissionResult) == 4
