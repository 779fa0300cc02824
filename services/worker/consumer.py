"""The SUBMISSIONS consumer: pull a batch, import each with bounded concurrency, ack after commit.

Acknowledging only after the import committed (and its fingerprint went to FPINDEX) means a
worker killed at any moment leaves the message unacknowledged, so JetStream redelivers it and
the idempotent importer finishes the job. Failures are retried with a growing delay; one that
keeps failing, or can never succeed, goes to the dead-letter subject with the reason.
"""

from __future__ import annotations

import asyncio
import logging
import time

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig

from libs.common import index_messages, submission_queue
from libs.common.nats import dead_letter_subject, fpindex_subject, submissions_subject
from libs.common.settings import Settings
from services.worker import metrics
from services.worker.importer import Importer, Outcome, PermanentError, Result

log = logging.getLogger(__name__)

DURABLE = "worker"
MAX_RETRY_DELAY = 60.0


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
        while not stop.is_set():
            try:
                batch = await sub.fetch(self.settings.worker_batch_size, timeout=1.0)
            except TimeoutError:  # nats' own TimeoutError, or asyncio's from a short batch
                continue
            size = -(-len(batch) // self.settings.worker_concurrency)
            chunks = [batch[i : i + size] for i in range(0, len(batch), size)]
            await asyncio.gather(*(self._handle(chunk) for chunk in chunks))
            info = await sub.consumer_info()
            metrics.CONSUMER_PENDING.set(info.num_pending or 0)

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
            await asyncio.gather(*(self.publish_fingerprint(r) for r in results))
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

    async def publish_fingerprint(self, result: Result) -> None:
        """Sends the fingerprint to its index shard; dedupe by id makes repeats free."""
        if result.fingerprint_id is None or result.terms is None:
            return
        fp_id = result.fingerprint_id
        shard = index_messages.shard_of(fp_id, self.settings.index_shards)
        payload = index_messages.encode([index_messages.insert(fp_id, result.terms)])
        await self.js.publish(
            fpindex_subject(self.settings, shard),
            payload,
            headers={index_messages.MSG_ID_HEADER: f"fingerprint-{fp_id}"},
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
