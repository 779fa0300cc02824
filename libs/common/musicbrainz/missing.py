"""MBIDs linked to tracks that the MusicBrainz replica does not know as they are.

A lookup that meets such an MBID reports it; the ``merge_missing_mbids`` cron job then does
what acoustid.org's ``merge_missing_mbid`` task does with it: an MBID MusicBrainz merged
into another recording (``recording_gid_redirect``) has its links merged into links to the
current MBID; an MBID still unknown seven days later, counted by the replica's own
``last_replication_date`` so a stale replica never condemns anything, has its links
disabled by the bot account with a note. A recording that exists again is forgotten.

The existence cache keeps lookups cheap: each MBID is reported at most once an hour
(``SET NX EX 3600``), however many lookups meet it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from libs.common.apikeys import generate_api_key
from libs.common.db import Database, Databases
from libs.common.models.app import Account
from libs.common.models.fingerprint import LinkRemap, TrackMBID
from libs.common.models.ingest import TrackMBIDChange, TrackMBIDSource
from libs.common.musicbrainz.schema import SCHEMA
from libs.common.redis import key
from libs.common.settings import Settings

log = logging.getLogger(__name__)

CHECKED_TTL = 3600
UNKNOWN_FOR = timedelta(days=7)
BATCH = 500
BOT_NAME = "acoustid_bot"
NOTE = "MBID has been unknown for too long"

_pending: set[asyncio.Task[None]] = set()


def queue_key(settings: Settings) -> str:
    return key(settings, "mbid", "missing")


async def report(redis: Redis, settings: Settings, mbids: Iterable[str]) -> None:
    """Queues each MBID not already checked within the hour: one Redis round trip."""
    wanted = sorted(set(mbids))
    async with redis.pipeline(transaction=False) as pipe:
        for mbid in wanted:
            pipe.set(key(settings, "mbid", "checked", mbid), 1, nx=True, ex=CHECKED_TTL)
        fresh = [m for m, new in zip(wanted, await pipe.execute(), strict=True) if new]
    if fresh:
        await redis.sadd(queue_key(settings), *fresh)


def report_in_background(redis: Redis | None, settings: Settings, mbids: set[str]) -> None:
    """Reports without holding up the lookup; a Redis failure costs only the report."""
    if redis is None:
        return

    async def run() -> None:
        try:
            await report(redis, settings, mbids)
        except Exception as exc:  # the next lookup after the TTL reports it again
            log.warning("cannot report missing MBIDs: %r", exc)

    task = asyncio.get_running_loop().create_task(run())
    _pending.add(task)
    task.add_done_callback(_pending.discard)


@dataclass
class Outcome:
    merged: int = 0
    disabled: int = 0
    known: int = 0
    waiting: int = 0


_STATE = text(
    f"""
    SELECT q.gid,
           (SELECT r.gid FROM "{SCHEMA}".recording r WHERE r.gid = q.gid),
           (SELECT r.gid FROM "{SCHEMA}".recording_gid_redirect g
              JOIN "{SCHEMA}".recording r ON r.id = g.new_id WHERE g.gid = q.gid)
    FROM unnest(CAST(:gids AS uuid[])) AS q(gid)
    """
)
_CLOCK = text(f'SELECT max(last_replication_date) FROM "{SCHEMA}".replication_control')


async def merge_mbid(databases: Databases, source: str, target: str) -> int:
    """Links to ``source`` become links to ``target`` on the same tracks (counts added, the
    old row kept as ``merged_into``, disabled), as acoustid.org's ``merge_mbids``; their
    provenance follows through ``link_remap``. Returns the links merged."""
    async with databases.session(Database.FINGERPRINT) as fp, fp.begin():
        rows = (
            await fp.execute(
                select(
                    TrackMBID.id, TrackMBID.track_id, TrackMBID.submission_count, TrackMBID.disabled
                )
                .where(TrackMBID.mbid == source, TrackMBID.merged_into.is_(None))
                .with_for_update()
            )
        ).all()
        for link_id, track_id, count, disabled in rows:
            stmt = insert(TrackMBID).values(
                track_id=track_id, mbid=target, submission_count=count, disabled=disabled
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["track_id", "mbid"],
                set_={
                    "submission_count": TrackMBID.submission_count + count,
                    "disabled": TrackMBID.disabled & disabled,
                    "updated": func.now(),
                },
            )
            target_id = int((await fp.execute(stmt.returning(TrackMBID.id))).scalar_one())
            await fp.execute(
                update(TrackMBID)
                .where(TrackMBID.id == link_id)
                .values(
                    merged_into=target_id, submission_count=0, disabled=True, updated=func.now()
                )
            )
            fp.add_all(
                LinkRemap(
                    provenance=model.__tablename__,
                    link_column="track_mbid_id",
                    old_link_id=link_id,
                    new_link_id=target_id,
                )
                for model in (TrackMBIDSource, TrackMBIDChange)
            )
    return len(rows)


async def bot_account(databases: Databases) -> int:
    async with databases.session(Database.APP) as app, app.begin():
        found = await app.scalar(select(Account.id).where(Account.name == BOT_NAME).limit(1))
        if found is not None:
            return int(found)
        account = Account(name=BOT_NAME, apikey=generate_api_key())
        app.add(account)
        await app.flush()
        return int(account.id)


async def disable_mbid(databases: Databases, mbid: str, account_id: int, note: str) -> int:
    """Disables every enabled link to ``mbid``, logging a ``track_mbid_change`` for each."""
    async with databases.session(Database.FINGERPRINT) as fp, fp.begin():
        ids = list(
            await fp.scalars(
                update(TrackMBID)
                .where(TrackMBID.mbid == mbid, TrackMBID.disabled.is_(False))
                .values(disabled=True, updated=func.now())
                .returning(TrackMBID.id)
            )
        )
    if ids:
        async with databases.session(Database.INGEST) as ingest, ingest.begin():
            ingest.add_all(
                TrackMBIDChange(track_mbid_id=i, account_id=account_id, disabled=True, note=note)
                for i in ids
            )
    return len(ids)


async def _first_seen(redis: Redis, settings: Settings, mbid: str, clock: datetime) -> datetime:
    name = key(settings, "mbid", "unknown", mbid)
    await redis.set(name, clock.isoformat(), nx=True)
    stored = await redis.get(name)
    if stored is None:  # expired or deleted in between: seen for the first time now
        return clock
    return datetime.fromisoformat(stored.decode() if isinstance(stored, bytes) else stored)


async def merge_missing_mbids(databases: Databases, redis: Redis, settings: Settings) -> Outcome:
    """Handles up to :data:`BATCH` reported MBIDs; merged links leave ``link_remap`` rows
    for the caller to apply to the ingest database (``repoint_provenance``)."""
    outcome = Outcome()
    popped = await redis.spop(queue_key(settings), BATCH)
    mbids = sorted(m.decode() if isinstance(m, bytes) else m for m in popped or ())
    if not mbids:
        return outcome
    clock = (await databases.fetch(Database.MUSICBRAINZ, _CLOCK))[0][0]
    rows = await databases.fetch(Database.MUSICBRAINZ, _STATE, {"gids": mbids})
    bot: int | None = None
    for gid, exists, redirect in rows:
        mbid = str(gid)
        unknown_key = key(settings, "mbid", "unknown", mbid)
        if exists is not None:
            await redis.delete(unknown_key)
            outcome.known += 1
        elif redirect is not None:
            await redis.delete(unknown_key)
            outcome.merged += await merge_mbid(databases, mbid, str(redirect))
        elif clock is None:
            outcome.waiting += 1  # an empty replica has no clock; nothing ages
        elif clock - await _first_seen(redis, settings, mbid, clock) >= UNKNOWN_FOR:
            bot = bot if bot is not None else await bot_account(databases)
            outcome.disabled += await disable_mbid(databases, mbid, bot, NOTE)
            await redis.delete(unknown_key)
        else:
            outcome.waiting += 1
    return outcome
