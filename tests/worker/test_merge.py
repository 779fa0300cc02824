"""Tracks holding the same audio are merged by the cron job, links and provenance included."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import numpy as np
import pytest
from sqlalchemy import select

from libs.chromaprint_cy.query import extract_query
from libs.common import fingerprint_codec
from libs.common.db import Database, Databases
from libs.common.index_client import IndexClient
from libs.common.models.fingerprint import Fingerprint, LinkRemap, Track, TrackMBID, TrackPUID
from libs.common.models.ingest import TrackMBIDSource, TrackPUIDSource
from libs.common.nats import connect
from libs.common.redis import create_redis
from libs.common.settings import Settings
from services.worker import jobs
from services.worker.merge import merge_tracks
from tests.processes import ServiceProcess
from tests.worker.fingerprints import clip, variant

M1, M2, PUID = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


@pytest.fixture
async def ctx(
    stack_settings: Settings, databases: Databases, processes: dict[str, ServiceProcess]
) -> AsyncIterator[jobs.Context]:
    settings = stack_settings.model_copy(update={"redis_prefix": f"test:{uuid.uuid4().hex}:"})
    redis = create_redis(settings)
    nc = await connect(settings, "test-merge")
    index = IndexClient.from_settings(settings)
    yield jobs.Context(settings, databases, redis, nc.jetstream(), index)
    await index.close()
    await nc.close()
    for k in await redis.keys(settings.redis_prefix + "*"):
        await redis.delete(k)
    await redis.aclose()


async def store_track(
    ctx: jobs.Context, items: np.ndarray, links: dict[uuid.UUID, int], puid: bool
) -> tuple[int, int]:
    """A track with one fingerprint and MBID links, indexed, with provenance rows."""
    async with ctx.databases.session(Database.FINGERPRINT) as fp:
        track = Track(gid=uuid.uuid4())
        fp.add(track)
        await fp.flush()
        row = Fingerprint(
            fingerprint=fingerprint_codec.to_int4(items),
            length=125,
            track_id=track.id,
            submission_count=1,
        )
        fp.add(row)
        mbids = [TrackMBID(track_id=track.id, mbid=m, submission_count=n) for m, n in links.items()]
        fp.add_all(mbids)
        puids = [TrackPUID(track_id=track.id, puid=PUID, submission_count=1)] if puid else []
        fp.add_all(puids)
        await fp.commit()
    async with ctx.databases.session(Database.INGEST) as ingest:
        ingest.add_all(TrackMBIDSource(track_mbid_id=m.id, source_id=1) for m in mbids)
        ingest.add_all(
            TrackPUIDSource(track_puid_id=p.id, source_id=1, submission_id=1) for p in puids
        )
        await ingest.commit()
    update = {"changes": [{"insert": {"id": row.id, "hashes": extract_query(items).tolist()}}]}
    url = ctx.settings.index_urls[0]
    response = httpx.post(f"{url}/{ctx.settings.index_name}/_update", json=update, timeout=10)
    assert response.status_code == 200, response.text
    return track.id, row.id


async def test_same_audio_on_two_tracks_is_merged_into_the_older(ctx: jobs.Context) -> None:
    items = clip("melody_noise")
    old_track, _ = await store_track(ctx, items, {M1: 2}, puid=False)
    new_track, new_fp = await store_track(ctx, variant(items, 1), {M1: 1, M2: 1}, puid=True)
    other_track, _ = await store_track(ctx, clip("melody_48k"), {M2: 5}, puid=False)

    assert await jobs.merge_same_audio_tracks(ctx) == 1
    assert await jobs.merge_same_audio_tracks(ctx) == 0

    async with ctx.databases.session(Database.FINGERPRINT) as fp:
        assert await fp.scalar(select(Fingerprint.track_id).where(Fingerprint.id == new_fp)) == (
            old_track
        )
        tracks = {t.id: t.new_id for t in await fp.scalars(select(Track))}
        assert tracks == {old_track: None, new_track: old_track, other_track: None}
        links = {(link.track_id, link.mbid): link for link in await fp.scalars(select(TrackMBID))}
        assert links[(old_track, M1)].submission_count == 3
        assert links[(old_track, M2)].submission_count == 1
        moved = links[(new_track, M1)]
        assert (moved.merged_into, moved.submission_count, moved.disabled) == (
            links[(old_track, M1)].id,
            0,
            True,
        )
        assert links[(other_track, M2)].submission_count == 5
        puid = await fp.scalar(select(TrackPUID))
        assert puid is not None and puid.track_id == old_track
    async with ctx.databases.session(Database.INGEST) as ingest:
        sources = set(await ingest.scalars(select(TrackMBIDSource.track_mbid_id)))
        assert sources == {links[(old_track, M1)].id, links[(old_track, M2)].id,
                           links[(other_track, M2)].id}  # fmt: skip
        assert await ingest.scalar(select(TrackPUIDSource.track_puid_id)) == puid.id


async def test_a_merge_that_died_before_repointing_is_finished_by_the_next_run(
    ctx: jobs.Context,
) -> None:
    """The fingerprint side committed, the process died: provenance still names folded
    links until the next run repoints it from the ``link_remap`` rows."""
    old_track, _ = await store_track(ctx, clip("melody_noise"), {M1: 1}, puid=True)
    new_track, _ = await store_track(ctx, clip("melody_48k"), {M1: 1}, puid=True)
    async with ctx.databases.session(Database.FINGERPRINT) as fp, fp.begin():
        await merge_tracks(fp, new_track, old_track)
    async with ctx.databases.session(Database.FINGERPRINT) as fp:
        target = {link.track_id: link.id for link in await fp.scalars(select(TrackPUID))}
        pending = len(list(await fp.scalars(select(LinkRemap))))
    assert list(target) == [old_track] and pending == 3  # MBID: sources, changes; PUID

    await jobs.merge_same_audio_tracks(ctx)

    async with ctx.databases.session(Database.INGEST) as ingest:
        assert list(await ingest.scalars(select(TrackPUIDSource.track_puid_id))) == [
            target[old_track],
            target[old_track],
        ]
        mbid_sources = set(await ingest.scalars(select(TrackMBIDSource.track_mbid_id)))
    async with ctx.databases.session(Database.FINGERPRINT) as fp:
        kept = await fp.scalar(
            select(TrackMBID.id).where(TrackMBID.track_id == old_track, TrackMBID.mbid == M1)
        )
        assert list(await fp.scalars(select(LinkRemap))) == []
    assert mbid_sources == {kept}
