"""Thirty days of made-up history for ``make dev``, so every chart of the website shows data.

A fresh stack has today only: the statistics page's daily additions need yesterday's
totals, its searches chart the lookups of past days, and an application's page the past
month of its lookups. This writes such rows for the days before today, growing towards
today's real counts, once: a stack that already has history keeps it. Today's rows stay
the cron's (``daily_stats``), which ``make dev`` starts after the demo tracks are in.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import distinct, func, select

from libs.common.db import Database, Databases
from libs.common.models.app import Application, Stats, StatsLookups
from libs.common.models.fingerprint import Fingerprint, Track, TrackMBID
from libs.common.settings import Settings

DAYS = 30
HOURS = (9, 14, 20)


def _growth(total: int, day: int) -> int:
    """The total ``DAYS - day`` days ago, on a steady climb that ends at today's value."""
    return total * (DAYS - day) // (DAYS + 1)


def _lookups(when: date) -> tuple[int, int]:
    """(hits, misses) for one hour of one past day: a weekly rhythm, nothing random."""
    hits = 20 + 6 * when.weekday() + when.day % 7
    return hits, 4 + (hits * 3) % 11


async def seed_demo_history(settings: Settings, client_key: str) -> bool:
    """Writes the history once; False when there already was some."""
    databases = Databases(settings)
    try:
        return await _seed(databases, client_key, datetime.now(UTC).date())
    finally:
        await databases.dispose()


async def wait_for_todays_stats(settings: Settings, timeout: float) -> bool:
    """Waits until the cron has written today's statistics, so the first page shows them."""
    databases = Databases(settings)
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        while True:
            async with databases.session(Database.APP) as session:
                today = datetime.now(UTC).date()
                if await session.scalar(select(Stats.id).where(Stats.date == today).limit(1)):
                    return True
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.5)
    finally:
        await databases.dispose()


async def _seed(databases: Databases, client_key: str, today: date) -> bool:
    async with databases.session(Database.APP) as session:
        if await session.scalar(select(Stats.id).where(Stats.date < today).limit(1)):
            return False
        app_id = await session.scalar(
            select(Application.id).where(Application.apikey == client_key)
        )
    async with databases.session(Database.FINGERPRINT) as session:
        totals = {
            "track.all": await session.scalar(select(func.count()).select_from(Track)),
            "fingerprint.all": await session.scalar(select(func.count()).select_from(Fingerprint)),
            "mbid.all": await session.scalar(
                select(func.count(distinct(TrackMBID.mbid))).where(TrackMBID.disabled.is_(False))
            ),
        }
    async with databases.session(Database.APP) as session, session.begin():
        for day in range(1, DAYS + 1):
            when = today - timedelta(days=day)
            session.add_all(
                Stats(name=name, date=when, value=_growth(int(total or 0), day))
                for name, total in totals.items()
            )
            if app_id is None:
                continue
            hits, misses = _lookups(when)
            session.add_all(
                StatsLookups(
                    date=when,
                    hour=hour,
                    application_id=app_id,
                    count_hits=hits,
                    count_nohits=misses,
                )
                for hour in HOURS
            )
    return True
