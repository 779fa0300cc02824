"""``/stats``: the database's size and growth, from the tables the cron jobs fill.

Totals and the two link histograms are the newest ``stats`` rows (``daily_stats``);
daily additions are the day-to-day differences of ``track.all`` and ``mbid.all``; searches
are ``stats_lookups`` summed per day, today left out because it is not over. The numbers
change once an hour at most, so a process computes the page's data once a minute.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlalchemy import func, select

from libs.common.db import Database, Databases
from libs.common.models.app import Stats, StatsLookups
from services.web.auth import resources
from services.web.charts import line_chart
from services.web.templating import render

router = APIRouter(include_in_schema=False)

DAYS = 30
TOP = 10
CACHE_SECONDS = 60.0
TOTALS = (
    ("track.all", "AcoustIDs"),
    ("fingerprint.all", "Fingerprints"),
    ("mbid.all", "Recordings"),
    ("submission.all", "Submissions"),
    ("account.active", "Contributors"),
)
TRACK_HISTOGRAM = "track.{}mbids"
MBID_HISTOGRAM = "mbid.{}tracks"


@dataclass(frozen=True)
class Bucket:
    label: str
    count: int
    percent: float


@dataclass(frozen=True)
class Histogram:
    buckets: list[Bucket]
    total: int
    linked_percent: float
    """Share of the keys with at least one link."""


@dataclass(frozen=True)
class Series:
    labels: list[str]
    rows: list[tuple[str, list[int | None]]]
    chart: Markup


@dataclass(frozen=True)
class StatsPage:
    totals: list[tuple[str, int | None]]
    as_of: date | None
    tracks: Histogram
    mbids: Histogram
    additions: Series
    searches: Series


def _histogram(latest: dict[str, int], pattern: str, first: int) -> Histogram:
    counts = [latest.get(pattern.format(n), 0) for n in range(TOP + 1)]
    total = sum(counts)
    buckets = [
        Bucket(
            f"{n} or more" if n == TOP else str(n),
            counts[n],
            100.0 * counts[n] / total if total else 0.0,
        )
        for n in range(first, TOP + 1)
    ]
    linked = 100.0 * sum(counts[1:]) / total if total else 0.0
    return Histogram(buckets, total, linked)


async def _latest(databases: Databases) -> tuple[dict[str, int], date | None]:
    """The newest value of every statistic the page shows, and the day it is from."""
    names = [name for name, _ in TOTALS]
    names += [p.format(n) for p in (TRACK_HISTOGRAM, MBID_HISTOGRAM) for n in range(TOP + 1)]
    rows = await databases.fetch(
        Database.APP,
        select(Stats.name, Stats.value, Stats.date)
        .where(Stats.name.in_(names))
        .distinct(Stats.name)
        .order_by(Stats.name, Stats.date.desc(), Stats.id.desc()),
    )
    newest = max((row[2] for row in rows), default=None)
    return {name: value for name, value, _ in rows}, newest


def _days(today: date) -> list[date]:
    return [today - timedelta(days=n) for n in range(DAYS, 0, -1)]


async def _additions(databases: Databases, today: date) -> Series:
    days = _days(today + timedelta(days=1))
    rows = await databases.fetch(
        Database.APP,
        select(Stats.date, Stats.name, func.max(Stats.value))
        .where(Stats.name.in_(["track.all", "mbid.all"]), Stats.date >= days[0] - timedelta(days=1))
        .group_by(Stats.date, Stats.name),
    )
    values = {(day, name): value for day, name, value in rows}

    def deltas(name: str) -> list[int | None]:
        out: list[int | None] = []
        for day in days:
            now, before = values.get((day, name)), values.get((day - timedelta(days=1), name))
            out.append(None if now is None or before is None else now - before)
        return out

    labels = [day.isoformat() for day in days]
    series = [("New AcoustIDs", deltas("track.all")), ("New recordings", deltas("mbid.all"))]
    return Series(labels, series, line_chart("Daily additions", labels, series))


async def _searches(databases: Databases, today: date) -> Series:
    days = _days(today)
    rows = await databases.fetch(
        Database.APP,
        select(
            StatsLookups.date,
            func.sum(StatsLookups.count_hits),
            func.sum(StatsLookups.count_nohits),
        )
        .where(StatsLookups.date >= days[0], StatsLookups.date < today)
        .group_by(StatsLookups.date),
    )
    found = {day: (int(hits), int(misses)) for day, hits, misses in rows}
    hits = [found.get(day, (0, 0))[0] for day in days]
    misses = [found.get(day, (0, 0))[1] for day in days]
    labels = [day.isoformat() for day in days]
    series: list[tuple[str, list[int | None]]] = [
        ("All", [h + m for h, m in zip(hits, misses, strict=True)]),
        ("Hits", list(hits)),
        ("Misses", list(misses)),
    ]
    return Series(labels, series, line_chart("Searches per day", labels, series))


async def stats_page(databases: Databases, today: date) -> StatsPage:
    latest, as_of = await _latest(databases)
    return StatsPage(
        totals=[(label, latest.get(name)) for name, label in TOTALS],
        as_of=as_of,
        tracks=_histogram(latest, TRACK_HISTOGRAM, 0),
        mbids=_histogram(latest, MBID_HISTOGRAM, 1),
        additions=await _additions(databases, today),
        searches=await _searches(databases, today),
    )


@router.get("/stats", response_class=HTMLResponse)
async def stats(request: Request) -> HTMLResponse:
    cached: tuple[float, StatsPage] | None = getattr(request.app.state, "stats_page", None)
    now = time.monotonic()
    if cached is None or now - cached[0] > CACHE_SECONDS:
        page = await stats_page(resources(request).databases, datetime.now(UTC).date())
        cached = (now, page)
        request.app.state.stats_page = cached
    return await render(request, "stats.html", stats=cached[1])
