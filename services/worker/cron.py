"""The scheduled-jobs process (``acoustid run cron``), health and metrics on port 5003.

Every process may run; only the holder of the Redis lease runs jobs, so a second cron
process is a hot standby that takes over within one lease period when the leader dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import FastAPI
from prometheus_client import Counter, Gauge, Histogram

from libs.common.db import Database
from libs.common.index_client import IndexClient
from libs.common.server import run_service
from libs.common.service import MainLoop, Resources, build_resources, create_service_app
from libs.common.settings import Settings
from services.worker import jobs
from services.worker.leader import Lease

log = logging.getLogger(__name__)

DATABASES = (Database.APP, Database.FINGERPRINT, Database.INGEST)
"""Databases health checks write to; the MusicBrainz tables are only read."""
LEASE_TTL = 30.0
TICK = 1.0

JOB_RUNS = Counter("cron_job_runs_total", "Scheduled job runs by outcome", ["job", "outcome"])
JOB_SECONDS = Histogram("cron_job_duration_seconds", "Scheduled job duration", ["job"])
LEADER = Gauge("cron_leader", "1 while this process holds the cron lease")


@dataclass
class Job:
    name: str
    every: float
    run: Callable[[jobs.Context], Awaitable[object]]
    due: float = 0.0


def schedule() -> list[Job]:
    return [
        Job("republish_unhandled", 60.0, jobs.republish_unhandled),
        Job("fold_lookup_counters", 60.0, jobs.fold_lookup_counters),
        Job("fold_user_agent_counters", 3600.0, jobs.fold_user_agent_counters),
        Job("daily_stats", 3600.0, jobs.daily_stats),
        Job("delete_old_submissions", 3600.0, jobs.delete_old_submissions),
        Job("merge_same_audio_tracks", 300.0, jobs.merge_same_audio_tracks),
        Job("merge_missing_mbids", 60.0, jobs.merge_missing_mbids),
    ]


async def run_due(ctx: jobs.Context, table: list[Job], now: float) -> None:
    for job in table:
        if now < job.due:
            continue
        job.due = now + job.every
        start = time.perf_counter()
        try:
            result = await job.run(ctx)
        except Exception:
            log.exception("job %s failed", job.name)
            JOB_RUNS.labels(job.name, "failed").inc()
        else:
            log.info("job %s done: %s", job.name, result)
            JOB_RUNS.labels(job.name, "ok").inc()
        JOB_SECONDS.labels(job.name).observe(time.perf_counter() - start)


async def scheduler(resources: Resources, stop: asyncio.Event) -> None:
    """Runs due jobs while this process holds the lease; checks every second."""
    assert resources.redis is not None
    nc = await resources.nats_ready()
    index = IndexClient.from_settings(resources.settings)
    ctx = jobs.Context(
        resources.settings, resources.databases, resources.redis, nc.jetstream(), index
    )
    lease = Lease(resources.redis, resources.settings, LEASE_TTL)
    table = schedule()
    try:
        while not stop.is_set():
            try:
                leader = await lease.hold()
            except Exception as exc:
                log.warning("cannot reach the lease: %r", exc)
                leader = False
            LEADER.set(int(leader))
            if leader:
                await run_due(ctx, table, time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), TICK)
    finally:
        await index.close()
        LEADER.set(0)
        with contextlib.suppress(Exception):
            await lease.release()


def create_app(settings: Settings) -> FastAPI:
    resources = build_resources(settings, "cron", DATABASES, uses_redis=True, uses_nats=True)
    loop = MainLoop("scheduler", scheduler)
    return create_service_app(
        resources,
        title="AcoustID scheduled jobs",
        description="Health and metrics of the scheduled jobs.",
        on_start=loop.start,
        on_stop=loop.close,
    )


def main(argv: list[str]) -> int:
    return run_service(create_app, "cron", lambda settings: settings.cron_metrics_port)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
