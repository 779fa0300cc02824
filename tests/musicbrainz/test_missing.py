"""Unknown and merged MBIDs: reported by lookups once an hour, then merged or disabled by
the cron job, against the real databases and Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from libs.common.db import Database, Databases
from libs.common.models.app import Account
from libs.common.models.fingerprint import LinkRemap, Track, TrackMBID
from libs.common.models.ingest import TrackMBIDChange, TrackMBIDSource
from libs.common.musicbrainz import missing
from libs.common.musicbrainz.sample import DEMO_MBIDS, TIMESTAMP, gid
from libs.common.redis import create_redis, key
from libs.common.settings import Settings
from services.worker import jobs

MERGED = DEMO_MBIDS["noise"]
CURRENT = gid("recording", "static")
KNOWN = DEMO_MBIDS["melody"]


@pytest.fixture
async def deps(musicbrainz: Settings) -> AsyncIterator[tuple[Databases, Redis]]:
    databases = Databases(musicbrainz)
    redis = create_redis(musicbrainz)
    # Lookups of other tests reported the sample's MBIDs within the hour: forget that.
    checked = [key(musicbrainz, "mbid", "checked", m) for m in (MERGED, CURRENT, KNOWN)]
    await redis.delete(missing.queue_key(musicbrainz), *checked)
    yield databases, redis
    await redis.aclose()
    await databases.dispose()


async def _links(databases: Databases, track_id: int) -> dict[str, tuple[int, int, bool, bool]]:
    """mbid -> (link id, submission count, disabled, merged away)."""
    async with databases.session(Database.FINGERPRINT) as fp:
        rows = await fp.execute(
            select(
                TrackMBID.mbid,
                TrackMBID.id,
                TrackMBID.submission_count,
                TrackMBID.disabled,
                TrackMBID.merged_into,
            ).where(TrackMBID.track_id == track_id)
        )
        return {str(m): (i, c, d, into is not None) for m, i, c, d, into in rows}


async def test_each_mbid_is_queued_once_an_hour(
    musicbrainz: Settings, deps: tuple[Databases, Redis]
) -> None:
    _, redis = deps
    fresh = str(uuid.uuid4())
    await missing.report(redis, musicbrainz, [fresh])
    assert await redis.smembers(missing.queue_key(musicbrainz)) == {fresh.encode()}
    await redis.delete(missing.queue_key(musicbrainz))
    await missing.report(redis, musicbrainz, [fresh])
    assert await redis.smembers(missing.queue_key(musicbrainz)) == set()
    ttl = await redis.ttl(key(musicbrainz, "mbid", "checked", fresh))
    assert 3500 < ttl <= 3600


async def test_merged_mbid_moves_and_unknown_is_disabled_after_a_week(
    musicbrainz: Settings, deps: tuple[Databases, Redis]
) -> None:
    databases, redis = deps
    unknown = str(uuid.uuid4())
    counts = {MERGED: 2, CURRENT: 1, unknown: 4, KNOWN: 1}
    async with databases.session(Database.FINGERPRINT) as fp:
        track = Track(gid=uuid.uuid4())
        fp.add(track)
        await fp.flush()
        track_id = track.id
        fp.add_all(
            TrackMBID(track_id=track_id, mbid=uuid.UUID(m), submission_count=c)
            for m, c in counts.items()
        )
        await fp.commit()
    before = await _links(databases, track_id)
    async with databases.session(Database.INGEST) as ingest:
        source = TrackMBIDSource(track_mbid_id=before[MERGED][0], submission_id=None, source_id=1)
        ingest.add(source)
        await ingest.commit()

    await missing.report(redis, musicbrainz, [MERGED, unknown, KNOWN])
    ctx = jobs.Context(musicbrainz, databases, redis, None, None)  # type: ignore[arg-type]
    assert await jobs.merge_missing_mbids(ctx) == {
        "merged": 1,
        "disabled": 0,
        "known": 1,
        "waiting": 1,
    }
    after = await _links(databases, track_id)
    assert after[MERGED][1:] == (0, True, True)
    assert after[CURRENT][1:] == (3, False, False)
    assert after[unknown][1:] == (4, False, False)
    assert after[KNOWN][1:] == (1, False, False)
    async with databases.session(Database.INGEST) as ingest:
        moved = await ingest.scalar(
            select(TrackMBIDSource.track_mbid_id).where(TrackMBIDSource.id == source.id)
        )
    assert moved == after[CURRENT][0]
    async with databases.session(Database.FINGERPRINT) as fp:
        assert list(await fp.scalars(select(LinkRemap.id))) == []
    first_seen = await redis.get(key(musicbrainz, "mbid", "unknown", unknown))
    assert first_seen.decode() == TIMESTAMP.isoformat()

    # Six days after first seen by the replica's clock nothing happens; at seven it goes.
    for days, disabled in ((6, False), (7, True)):
        seen = TIMESTAMP - timedelta(days=days)
        await redis.set(key(musicbrainz, "mbid", "unknown", unknown), seen.isoformat())
        await redis.sadd(missing.queue_key(musicbrainz), unknown)
        await jobs.merge_missing_mbids(ctx)
        assert (await _links(databases, track_id))[unknown][1:] == (4, disabled, False)
    async with databases.session(Database.INGEST) as ingest:
        changes = (
            await ingest.execute(
                select(
                    TrackMBIDChange.account_id, TrackMBIDChange.disabled, TrackMBIDChange.note
                ).where(TrackMBIDChange.track_mbid_id == after[unknown][0])
            )
        ).all()
    async with databases.session(Database.APP) as app:
        bot = await app.scalar(select(Account.id).where(Account.name == "acoustid_bot"))
    assert changes == [(bot, True, "MBID has been unknown for too long")]
