"""The scheduled jobs: each one idempotent, so a run cut short is simply run again."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from nats.js import JetStreamContext
from redis.asyncio import Redis
from sqlalchemy import delete, distinct, func, select
from sqlalchemy.dialects.postgresql import insert

from libs.chromaprint_cy.compare import compare2
from libs.chromaprint_cy.query import extract_query
from libs.common import fingerprint_codec, stats_counters, submission_queue
from libs.common.db import Database, Databases
from libs.common.index_client import FULL_SEARCH, IndexClient
from libs.common.models.app import (
    Account,
    Application,
    Format,
    Source,
    Stats,
    StatsLookups,
    StatsUserAgents,
)
from libs.common.models.fingerprint import Fingerprint, Track, TrackMBID
from libs.common.models.ingest import Submission
from libs.common.musicbrainz import missing
from libs.common.redis import key
from libs.common.settings import Settings
from services.worker.merge import merge_tracks, repoint_provenance

log = logging.getLogger(__name__)

OUTBOX_BATCH = 1000
MERGE_BATCH = 500


@dataclass
class Context:
    settings: Settings
    databases: Databases
    redis: Redis
    js: JetStreamContext
    index: IndexClient


async def republish_unhandled(ctx: Context) -> int:
    """The outbox: submissions stored but never imported are queued again after a delay.

    Covers an API that died between its commit and its publish; JetStream's dedupe window
    and the idempotent importer make a republish of a queued one harmless.
    """
    cutoff = datetime.now(UTC) - timedelta(seconds=ctx.settings.outbox_delay)
    async with ctx.databases.session(Database.INGEST) as session:
        ids = list(
            await session.scalars(
                select(Submission.id)
                .where(Submission.handled.is_(False), Submission.created < cutoff)
                .order_by(Submission.id)
                .limit(OUTBOX_BATCH)
            )
        )
    for submission_id in ids:
        await submission_queue.publish(ctx.js, ctx.settings, submission_id)
    if ids:
        log.info("republished %d unhandled submissions", len(ids))
    return len(ids)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def _drain_hashes(ctx: Context, kind: str) -> list[tuple[str, dict[str, int]]]:
    """Every counter hash of one kind with its current fields."""
    result = []
    for redis_key in stats_counters.partition_keys(ctx.settings, kind):
        raw = await ctx.redis.hgetall(redis_key)
        fields = {_text(f): int(v) for f, v in raw.items()}
        if fields:
            result.append((redis_key, fields))
    return result


async def _subtract(ctx: Context, redis_key: str, flushed: dict[str, int]) -> None:
    """Takes what was stored off the counters; increments since the read stay in Redis."""
    async with ctx.redis.pipeline(transaction=True) as pipe:
        for field, value in flushed.items():
            pipe.hincrby(redis_key, field, -value)
        results = await pipe.execute()
    zero = [field for field, left in zip(flushed, results, strict=True) if left == 0]
    if zero:
        await ctx.redis.hdel(redis_key, *zero)


async def _known_applications(ctx: Context, ids: set[int]) -> set[int]:
    async with ctx.databases.session(Database.APP) as session:
        return set(await session.scalars(select(Application.id).where(Application.id.in_(ids))))


async def fold_lookup_counters(ctx: Context) -> int:
    """Adds the API's hourly lookup counters to ``stats_lookups`` (hits and misses)."""
    folded = 0
    for redis_key, fields in await _drain_hashes(ctx, stats_counters.LOOKUPS):
        totals: dict[tuple[date, int, int], list[int]] = defaultdict(lambda: [0, 0])
        for field, value in fields.items():
            count = stats_counters.parse_lookup_field(field)
            totals[(count.date, count.hour, count.application_id)][int(count.hit)] += value
        known = await _known_applications(ctx, {app for _, _, app in totals})
        async with ctx.databases.session(Database.APP) as session, session.begin():
            for (day, hour, app_id), (misses, hits) in totals.items():
                if app_id not in known:
                    continue
                stmt = insert(StatsLookups).values(
                    date=day, hour=hour, application_id=app_id, count_hits=hits, count_nohits=misses
                )
                await session.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["application_id", "date", "hour"],
                        set_={
                            "count_hits": StatsLookups.count_hits + hits,
                            "count_nohits": StatsLookups.count_nohits + misses,
                        },
                    )
                )
        await _subtract(ctx, redis_key, fields)
        folded += sum(fields.values())
    return folded


async def fold_user_agent_counters(ctx: Context) -> int:
    folded = 0
    for redis_key, fields in await _drain_hashes(ctx, stats_counters.USER_AGENTS):
        totals: dict[stats_counters.UserAgentCount, int] = defaultdict(int)
        for field, value in fields.items():
            totals[stats_counters.parse_user_agent_field(field)] += value
        known = await _known_applications(ctx, {c.application_id for c in totals})
        async with ctx.databases.session(Database.APP) as session, session.begin():
            for ua, value in totals.items():
                if ua.application_id not in known:
                    continue
                stmt = insert(StatsUserAgents).values(
                    date=ua.date,
                    application_id=ua.application_id,
                    user_agent=ua.user_agent,
                    ip=ua.ip,
                    count=value,
                )
                await session.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["application_id", "date", "user_agent", "ip"],
                        set_={"count": StatsUserAgents.count + value},
                    )
                )
        await _subtract(ctx, redis_key, fields)
        folded += sum(fields.values())
    return folded


async def daily_stats(ctx: Context) -> dict[str, int]:
    """Today's totals into ``stats`` (the website's charts); re-running replaces today's rows."""
    app_counts = {
        "account.all": select(func.count()).select_from(Account),
        "account.musicbrainz": select(func.count()).where(Account.mbuser.is_not(None)),
        "account.active": select(func.count(distinct(Source.account_id))),
        "application.all": select(func.count()).select_from(Application),
        "format.all": select(func.count()).select_from(Format),
    }
    fp_counts = {
        "fingerprint.all": select(func.count()).select_from(Fingerprint),
        "track.all": select(func.count()).select_from(Track),
        "track_mbid.all": select(func.count()).where(TrackMBID.disabled.is_(False)),
        "mbid.all": select(func.count(distinct(TrackMBID.mbid))).where(
            TrackMBID.disabled.is_(False)
        ),
    }
    ingest_counts = {
        "submission.unhandled": select(func.count()).where(Submission.handled.is_(False)),
    }
    values: dict[str, int] = {}
    for db, queries in (
        (Database.APP, app_counts),
        (Database.FINGERPRINT, fp_counts),
        (Database.INGEST, ingest_counts),
    ):
        async with ctx.databases.session(db) as session:
            for name, query in queries.items():
                values[name] = int(await session.scalar(query) or 0)
    today = datetime.now(UTC).date()
    async with ctx.databases.session(Database.APP) as session, session.begin():
        await session.execute(
            delete(Stats).where(Stats.date == today, Stats.name.in_(list(values)))
        )
        session.add_all(Stats(name=name, date=today, value=v) for name, v in values.items())
    return values


async def delete_old_submissions(ctx: Context) -> int:
    """Handled submissions past the retention period; their results stay for status lookups."""
    cutoff = datetime.now(UTC) - timedelta(days=ctx.settings.submission_retention_days)
    async with ctx.databases.session(Database.INGEST) as session, session.begin():
        result = await session.execute(
            delete(Submission).where(Submission.handled.is_(True), Submission.handled_at < cutoff)
        )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def merge_same_audio_tracks(ctx: Context) -> int:
    """Merges tracks holding the same audio, looking at fingerprints added since the last run.

    Two submissions of the same audio imported before the first reached the index end up on
    two tracks; this finds them through the index a little later and merges the newer track
    into the older. The position is kept in Redis, so each fingerprint is examined once.
    """
    await repoint_provenance(ctx.databases)  # a merge that died between its two commits
    position = key(ctx.settings, "cron", "merge_tracks_last_id")
    last = int(await ctx.redis.get(position) or 0)
    async with ctx.databases.session(Database.FINGERPRINT) as session:
        rows = (
            await session.execute(
                select(Fingerprint.id, Fingerprint.length, Fingerprint.fingerprint)
                .where(Fingerprint.id > last)
                .order_by(Fingerprint.id)
                .limit(MERGE_BATCH)
            )
        ).all()
    merged = 0
    for fp_id, length, values in rows:
        items = fingerprint_codec.from_int4(values)
        found = await ctx.index.search(
            extract_query(items), limit=FULL_SEARCH.limit, score_pct=FULL_SEARCH.score_pct
        )
        candidates = [m.id for m in found.matches if m.id != fp_id]
        if candidates and await _merge_if_same(ctx, fp_id, length, items, candidates):
            merged += 1
        await ctx.redis.set(position, fp_id)
    return merged


async def _merge_if_same(
    ctx: Context, fp_id: int, length: int, items: np.ndarray, candidates: list[int]
) -> bool:
    settings = ctx.settings
    async with ctx.databases.session(Database.FINGERPRINT) as fp, fp.begin():
        own_track = await fp.scalar(select(Fingerprint.track_id).where(Fingerprint.id == fp_id))
        rows = await fp.execute(
            select(Fingerprint.track_id, Fingerprint.length, Fingerprint.fingerprint)
            .join(Track, Track.id == Fingerprint.track_id)
            .where(Fingerprint.id.in_(candidates), Track.new_id.is_(None))
            .where(Fingerprint.track_id != own_track)
        )
        near = [
            (track_id, fingerprint_codec.from_int4(other))
            for track_id, other_length, other in rows.all()
            if abs(other_length - length) <= settings.fingerprint_max_length_diff
        ]
        # compare2 holds the CPU for a while: off the event loop, as the API runs it.
        scores = await asyncio.to_thread(
            lambda: [compare2(items, other, settings.track_max_offset) for _, other in near]
        )
        for (track_id, _), score in zip(near, scores, strict=True):
            if score <= settings.fingerprint_merge_threshold or own_track is None:
                continue
            source, target = max(own_track, track_id), min(own_track, track_id)
            await merge_tracks(fp, source, target)
            break
        else:
            return False
    await repoint_provenance(ctx.databases)
    log.info("merged track %d into %d (score %.3f)", source, target, score)
    return True


async def merge_missing_mbids(ctx: Context) -> dict[str, int]:
    """MBIDs lookups found missing from the MusicBrainz replica: merged or, after a week
    unknown, disabled (:mod:`libs.common.musicbrainz.missing`)."""
    outcome = await missing.merge_missing_mbids(ctx.databases, ctx.redis, ctx.settings)
    if outcome.merged:
        await repoint_provenance(ctx.databases)
    return vars(outcome)
