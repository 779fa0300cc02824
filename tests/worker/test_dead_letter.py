"""A submission whose import keeps failing is retried with growing delays, then put on the
dead-letter subject with the reason, and the databases keep it unhandled."""

from __future__ import annotations

import asyncio
import contextlib
import time

from sqlalchemy import select

from libs.common import submission_queue
from libs.common.db import Database, Databases
from libs.common.models.ingest import Submission
from libs.common.nats import connect, dead_letter_subject, ensure_streams
from libs.common.settings import Settings
from services.worker.app import Worker
from services.worker.consumer import Consumer, retry_delay
from services.worker.importer import Importer
from services.worker.matching import Rules
from tests.conftest import closed_port_url
from tests.worker.fingerprints import clip
from tests.worker.importing import submit

DELIVERIES = 3


async def test_an_import_that_keeps_failing_is_dead_lettered_after_backoff(
    stack_settings: Settings, databases: Databases, app_ids: tuple[int, int]
) -> None:
    # The index answers nowhere: every attempt fails the way a real outage does.
    settings = stack_settings.model_copy(
        update={"index_urls": [closed_port_url("http")], "worker_max_deliveries": DELIVERIES}
    )
    sid = await submit(databases, app_ids, clip("melody_noise"))
    nc = await connect(settings, "test-dead-letter")
    worker = Worker(settings)
    stop = asyncio.Event()
    try:
        js = nc.jetstream()
        await ensure_streams(js, settings)
        dead = await nc.subscribe(dead_letter_subject(settings))
        importer = Importer(
            databases, worker.search_many, Rules.from_settings(settings), min_unique=80
        )
        started = time.monotonic()
        await submission_queue.publish(js, settings, sid)
        consumer = asyncio.create_task(Consumer(nc, settings, importer).run(stop))
        msg = await dead.next_msg(timeout=120)
        elapsed = time.monotonic() - started
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(consumer, 30)
    finally:
        await worker.index.close()
        await nc.close()
    assert submission_queue.decode(msg.data) == sid
    assert msg.headers is not None
    assert msg.headers["Deliveries"] == str(DELIVERIES)
    assert "did not answer" in msg.headers["Reason"] or "shard" in msg.headers["Reason"]
    assert elapsed >= sum(retry_delay(n) for n in range(1, DELIVERIES))
    async with databases.session(Database.INGEST) as session:
        assert await session.scalar(select(Submission.handled).where(Submission.id == sid)) is False
