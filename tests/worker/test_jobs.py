"""The scheduled jobs against real PostgreSQL, Redis and NATS."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from nats.js.api import ConsumerConfig
from sqlalchemy import select, text, update

from libs.common import stats_counters
from libs.common.db import Database, Databases
from libs.common.index_client import IndexClient
from libs.common.models.app import Account, AccountOpenID, Stats, StatsLookups, StatsUserAgents
from libs.common.models.fingerprint import Fingerprint, Track, TrackMBID
from libs.common.models.ingest import Submission
from libs.common.nats import connect, delete_streams, ensure_streams, submissions_subject
from libs.common.redis import create_redis
from libs.common.settings import Settings
from services.worker import jobs
from services.worker.leader import Lease


@pytest.fixture
async def ctx(migrated: Settings) -> AsyncIterator[jobs.Context]:
    """Own streams and key prefix: a dedupe window that saw another test's ids would hide ours."""
    unique = uuid.uuid4().hex[:8]
    settings = migrated.model_copy(
        update={
            "redis_prefix": f"test:{unique}:",
            "nats_prefix": f"testjobs{unique}.",
            "outbox_delay": 300.0,
        }
    )
    dbs = Databases(settings)
    async with dbs.engine(Database.INGEST).begin() as conn:
        await conn.execute(text("TRUNCATE submission RESTART IDENTITY"))
    async with dbs.engine(Database.APP).begin() as conn:
        await conn.execute(text("TRUNCATE stats, stats_lookups, stats_user_agents"))
    redis = create_redis(settings)
    nc = await connect(settings, "test-jobs")
    js = nc.jetstream()
    await ensure_streams(js, settings)
    index = IndexClient.from_settings(settings)
    yield jobs.Context(settings, dbs, redis, js, index)
    await index.close()
    for key in await redis.keys(settings.redis_prefix + "*"):
        await redis.delete(key)
    await redis.aclose()
    await nc.close()
    await delete_streams(settings)
    await dbs.dispose()


async def add_submission(ctx: jobs.Context, age: timedelta, handled: bool) -> int:
    async with ctx.databases.session(Database.INGEST) as session:
        sub = Submission(fingerprint=[1, 2, 3], length=10, handled=handled)
        session.add(sub)
        await session.flush()
        await session.execute(
            update(Submission)
            .where(Submission.id == sub.id)
            .values(created=datetime.now(UTC) - age, handled_at=datetime.now(UTC) - age)
        )
        await session.commit()
        return sub.id


async def queued_ids(ctx: jobs.Context) -> list[int]:
    sub = await ctx.js.pull_subscribe(
        submissions_subject(ctx.settings),
        durable=f"t{uuid.uuid4().hex[:6]}",
        stream=ctx.settings.stream("SUBMISSIONS"),
        config=ConsumerConfig(),
    )
    ids = []
    try:
        for msg in await sub.fetch(100, timeout=1.0):
            ids.append(int(msg.data))
            await msg.ack()
    except TimeoutError:
        pass
    await sub.unsubscribe()
    return sorted(ids)


async def test_outbox_republishes_only_old_unhandled_submissions(ctx: jobs.Context) -> None:
    stale = await add_submission(ctx, timedelta(minutes=10), handled=False)
    await add_submission(ctx, timedelta(seconds=5), handled=False)
    await add_submission(ctx, timedelta(minutes=10), handled=True)
    assert await jobs.republish_unhandled(ctx) == 1
    assert await jobs.republish_unhandled(ctx) == 1  # stored once: the dedupe window
    assert await queued_ids(ctx) == [stale]


async def app_id(ctx: jobs.Context) -> int:
    from libs.common.apikeys import ensure_demo_account
    from libs.common.models.app import Application

    async with ctx.databases.session(Database.APP) as session:
        keys = await ensure_demo_account(session)
        return int(
            await session.scalar(select(Application.id).where(Application.apikey == keys.client))
            or 0
        )


async def test_lookup_counters_fold_into_stats_lookups(ctx: jobs.Context) -> None:
    app = await app_id(ctx)
    when = datetime(2026, 11, 25, 13, 30, tzinfo=UTC)
    redis = ctx.redis
    counters = stats_counters.CounterBuffer(redis, ctx.settings, interval=3600)
    counters.add_lookups(when, app, [True, True, False])
    counters.add_lookups(when, 999_999, [True])
    await counters.flush()
    assert await jobs.fold_lookup_counters(ctx) == 4
    counters.add_lookups(when, app, [True])
    await counters.flush()
    assert await jobs.fold_lookup_counters(ctx) == 1
    assert await jobs.fold_lookup_counters(ctx) == 0
    async with ctx.databases.session(Database.APP) as session:
        rows = list(await session.scalars(select(StatsLookups)))
    assert [(r.application_id, r.date.isoformat(), r.hour, r.count_hits, r.count_nohits)
            for r in rows] == [(app, "2026-11-25", 13, 3, 1)]  # fmt: skip
    assert await redis.keys(ctx.settings.redis_prefix + "lookups:*") == []


async def test_user_agent_counters_fold_into_stats_user_agents(ctx: jobs.Context) -> None:
    app = await app_id(ctx)
    when = datetime(2026, 11, 25, 13, 30, tzinfo=UTC)
    counters = stats_counters.CounterBuffer(ctx.redis, ctx.settings, interval=3600)
    for _ in range(3):
        counters.add_user_agent(when, app, "picard/2.12 (x:y)", "10.0.0.1")
    await counters.flush()
    assert await jobs.fold_user_agent_counters(ctx) == 3
    async with ctx.databases.session(Database.APP) as session:
        row = await session.scalar(select(StatsUserAgents))
    assert row is not None
    assert (row.user_agent, row.ip, row.count) == ("picard/2.12 (x:y)", "10.0.0.1", 3)


async def test_daily_stats_rows_are_replaced_on_rerun(ctx: jobs.Context) -> None:
    await add_submission(ctx, timedelta(minutes=1), handled=False)
    first = await jobs.daily_stats(ctx)
    assert first["submission.unhandled"] == 1
    await jobs.daily_stats(ctx)
    async with ctx.databases.session(Database.APP) as session:
        rows = list(
            await session.scalars(select(Stats).where(Stats.name == "submission.unhandled"))
        )
    assert [r.value for r in rows] == [1]
    assert set(first) >= {"account.all", "track.all", "fingerprint.all", "mbid.all"}


async def add_track(ctx: jobs.Context, links: dict[str, bool], counts: tuple[int, ...] = ()) -> int:
    """A track with MBID links (mbid -> disabled) and one fingerprint per submission count."""
    async with ctx.databases.session(Database.FINGERPRINT) as session:
        track = Track(gid=uuid.uuid4())
        session.add(track)
        await session.flush()
        session.add_all(
            TrackMBID(track_id=track.id, mbid=uuid.UUID(mbid), submission_count=1, disabled=off)
            for mbid, off in links.items()
        )
        session.add_all(
            Fingerprint(fingerprint=[1, 2, 3], length=100, track_id=track.id, submission_count=n)
            for n in counts
        )
        await session.commit()
        return track.id


async def test_daily_stats_histograms_and_submission_total(ctx: jobs.Context) -> None:
    async with ctx.databases.engine(Database.FINGERPRINT).begin() as conn:
        await conn.execute(text("TRUNCATE track RESTART IDENTITY CASCADE"))
    mbid = [str(uuid.UUID(int=n)) for n in range(20)]
    first = await add_track(ctx, {mbid[0]: False, mbid[1]: False}, counts=(3,))
    await add_track(ctx, {mbid[0]: False, mbid[2]: True}, counts=(2,))
    await add_track(ctx, {})
    await add_track(ctx, {m: False for m in mbid[5:16]})
    merged = await add_track(ctx, {})
    async with ctx.databases.session(Database.FINGERPRINT) as session:
        await session.execute(update(Track).where(Track.id == merged).values(new_id=first))
        await session.commit()
    values = await jobs.daily_stats(ctx)
    tracks = {n: values[f"track.{n}mbids"] for n in range(11)}
    assert tracks == {0: 1, 1: 1, 2: 1, **{n: 0 for n in range(3, 10)}, 10: 1}
    mbids = {n: values[f"mbid.{n}tracks"] for n in range(11)}
    assert mbids == {0: 1, 1: 12, 2: 1, **{n: 0 for n in range(3, 11)}}
    assert values["submission.all"] == 5
    assert (values["track.all"], values["mbid.all"], values["track_mbid.all"]) == (5, 13, 14)
    async with ctx.databases.session(Database.APP) as session:
        rows = await session.execute(
            select(Stats.name, Stats.value).where(Stats.name.like("%mbid%"))
        )
        stored = {name: value for name, value in rows.all()}
    assert stored["track.10mbids"] == 1 and stored["mbid.1tracks"] == 12


async def test_daily_stats_counts_openid_accounts(ctx: jobs.Context) -> None:
    before = (await jobs.daily_stats(ctx))["account.openid"]
    async with ctx.databases.session(Database.APP) as session:
        account = Account(name="openid user", apikey=uuid.uuid4().hex[:10])
        session.add(account)
        await session.flush()
        session.add_all(
            AccountOpenID(openid=f"https://id.example/{uuid.uuid4().hex}", account_id=account.id)
            for _ in range(2)
        )
        await session.commit()
    after = await jobs.daily_stats(ctx)
    assert after["account.openid"] == before + 1


async def test_old_handled_submissions_are_deleted(ctx: jobs.Context) -> None:
    old = await add_submission(ctx, timedelta(days=40), handled=True)
    keep = await add_submission(ctx, timedelta(days=1), handled=True)
    pending = await add_submission(ctx, timedelta(days=40), handled=False)
    assert await jobs.delete_old_submissions(ctx) == 1
    async with ctx.databases.session(Database.INGEST) as session:
        left = sorted(await session.scalars(select(Submission.id)))
    assert old not in left and left == sorted([keep, pending])


async def test_only_one_process_holds_the_cron_lease(ctx: jobs.Context) -> None:
    first = Lease(ctx.redis, ctx.settings, ttl=5)
    second = Lease(ctx.redis, ctx.settings, ttl=5)
    assert await first.hold() is True
    assert await second.hold() is False
    assert await first.hold() is True
    await first.release()
    assert await second.hold() is True
    assert await first.hold() is False
