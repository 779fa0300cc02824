"""The SUBMISSIONS consumer: pull a batch, import each with bounded concurrency, ack after commit.

Acknowledging only after the import committed (and its fingerprint went to FPINDEX) means a
worker killed at any moment leaves the message unacknowledged, so JetStream redelivers it and
the idempotent importer finishes the job. Failures are retried with a growing delay; one that
keeps failing, or can never succeed, goes to the dead-letter subject with the reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import cast

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig

from libs.common import index_messages, submission_queue
from libs.common.index_messages import Insert
from libs.common.nats import (
    WORKER_DURABLE,
    dead_letter_subject,
    fpindex_subject,
    submissions_subject,
)
from libs.common.settings import Settings
from services.worker import metrics
from services.worker.importer import Importer, Outcome, PermanentError, Result

log = logging.getLogger(__name__)

DURABLE = WORKER_DURABLE
MAX_RETRY_DELAY = 60.0
PENDING_INTERVAL = 1.0  # seconds between updates of the pending-submissions gauge


def retry_delay(deliveries: int) -> float:
    return min(MAX_RETRY_DELAY, 0.5 * 2 ** max(0, deliveries - 1))


class Consumer:
    def __init__(self, nc: NATS, settings: Settings, importer: Importer) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.settings = settings
        self.importer = importer

    async def run(self, stop: asyncio.Event) -> None:
        sub = await self.js.pull_subscribe(
            submissions_subject(self.settings),
            durable=DURABLE,
            stream=self.settings.stream("SUBMISSIONS"),
            config=ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self.settings.worker_ack_wait,
                max_ack_pending=self.settings.worker_batch_size * 4,
            ),
        )
        # The next pull overlaps the imports in flight: waiting for a pull's slowest chunk
        # before pulling again left the databases idle about a quarter of the time. At most
        # ``worker_concurrency`` chunks run; one pull's chunks wait for a free slot.
        slots = asyncio.Semaphore(self.settings.worker_concurrency)
        running: set[asyncio.Task[None]] = set()
        failed: list[BaseException] = []

        def done(task: asyncio.Task[None]) -> None:
            running.discard(task)
            slots.release()
            if not task.cancelled() and task.exception() is not None:
                failed.append(cast(BaseException, task.exception()))

        next_info = 0.0
        try:
            while not stop.is_set():
                try:
                    batch = await sub.fetch(self.settings.worker_batch_size, timeout=1.0)
                except TimeoutError:  # nats' own TimeoutError, or asyncio's from a short batch
                    continue
                if not batch:  # a pull that expired empty (no range step of 0 below)
                    continue
                size = -(-len(batch) // self.settings.worker_concurrency)
                for i in range(0, len(batch), size):
                    await slots.acquire()
                    if failed:
                        raise failed[0]
                    task = asyncio.create_task(self._handle(batch[i : i + size]))
                    running.add(task)
                    task.add_done_callback(done)
                if time.monotonic() >= next_info:  # a round trip: not after every pull
                    next_info = time.monotonic() + PENDING_INTERVAL
                    info = await sub.consumer_info()
                    metrics.CONSUMER_PENDING.set(info.num_pending or 0)
            await asyncio.gather(*running)
        finally:
            for task in running:
                task.cancel()

    async def _handle(self, msgs: list[Msg]) -> None:
        """Imports a chunk as one batch; if the batch fails, each message on its own, so one
        bad submission is retried or dead-lettered without holding back the others."""
        decoded: list[tuple[Msg, int]] = []
        for msg in msgs:
            try:
                decoded.append((msg, submission_queue.decode(msg.data)))
            except ValueError as exc:
                await self._dead(msg, str(exc))
        if not decoded:
            return
        start = time.perf_counter()
        try:
            results = await self.importer.run_batch([sid for _, sid in decoded])
            await self.publish_fingerprints(results)
        except Exception as exc:
            if len(decoded) > 1:
                for msg, _ in decoded:
                    await self._handle([msg])
            else:
                await self._failed(decoded[0][0], decoded[0][1], exc)
            return
        elapsed = time.perf_counter() - start
        for (msg, sid), result in zip(decoded, results, strict=True):
            metrics.IMPORT_SECONDS.observe(elapsed)
            metrics.SUBMISSIONS.labels(result.outcome.value).inc()
            if result.outcome is Outcome.REJECTED:
                log.info("submission %s rejected: %s", sid, result.reason)
            await msg.ack()  # a lost ack only means an idempotent redelivery

    async def _failed(self, msg: Msg, submission_id: int, exc: Exception) -> None:
        deliveries = msg.metadata.num_delivered
        if isinstance(exc, PermanentError):
            await self._dead(msg, str(exc))
        elif deliveries >= self.settings.worker_max_deliveries:
            log.error("submission %s failed %d times", submission_id, deliveries, exc_info=exc)
            await self._dead(msg, f"{type(exc).__name__}: {exc}")
        else:
            log.warning("submission %s failed, will retry: %r", submission_id, exc)
            metrics.SUBMISSIONS.labels("retried").inc()
            await msg.nak(delay=retry_delay(deliveries))

    async def publish_fingerprints(self, results: list[Result]) -> None:
        """Sends the batch's fingerprints to the index: one message per shard, acks awaited.

        The message id names the fingerprints it inserts, so a batch redelivered whole within
        the dedupe window is stored once; any other repeat is an insert of the same id, which
        the index applies as a replacement.
        """
        latest: dict[int, Result] = {}
        for result in results:
            if result.fingerprint_id is not None and result.terms is not None:
                latest[result.fingerprint_id] = result
        by_shard: dict[int, list[Insert]] = {}
        for fp_id in sorted(latest):
            shard = index_messages.shard_of(fp_id, self.settings.index_shards)
            by_shard.setdefault(shard, []).append(index_messages.insert(fp_id, latest[fp_id].terms))
        await asyncio.gather(
            *(self._publish(shard, changes) for shard, changes in by_shard.items())
        )

    async def _publish(self, shard: int, changes: list[Insert]) -> None:
        ids = ",".join(str(c.id) for c in changes)
        msg_id = "fingerprints-" + hashlib.sha256(ids.encode()).hexdigest()[:32]
        await self.js.publish(
            fpindex_subject(self.settings, shard),
            index_messages.encode(changes),
            headers={index_messages.MSG_ID_HEADER: msg_id},
        )

    async def _dead(self, msg: Msg, reason: str) -> None:
        log.error("dead-lettering %r: %s", msg.data[:64], reason)
        await self.js.publish(
            dead_letter_subject(self.settings),
            msg.data,
            headers={"Reason": reason[:1000], "Deliveries": str(msg.metadata.num_delivered)},
        )
        metrics.SUBMISSIONS.labels("dead").inc()
        await msg.term()
