"""NATS connection and the two JetStream streams every service agrees on.

``SUBMISSIONS`` is a work queue: the API publishes one message per submission id and the
worker's durable consumer removes it on ack. ``FPINDEX`` is a limits-based log of index
changes on ``fpindex.<shard>``: each index replica replays its shard's subject from its own
durable position, so the stream is the index's replication log; the replicas purge what all
of them have checkpointed, and ``index_log_max_age`` bounds the rest.
"""

from __future__ import annotations

import contextlib
import logging

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from libs.common.settings import Settings

log = logging.getLogger(__name__)

SUBMISSIONS = "SUBMISSIONS"
WORKER_DURABLE = "worker"
"""The worker's durable consumer on SUBMISSIONS; the website's operator page reads its state."""
FPINDEX = "FPINDEX"
FPINDEX_TRIM = "FPINDEX_TRIM"  # KV bucket: per shard, the sequence FPINDEX was purged through
DEDUPE_WINDOW_SECONDS = 2 * 60 * 60.0


def submissions_subject(settings: Settings) -> str:
    return settings.subject("submissions")


def dead_letter_subject(settings: Settings) -> str:
    """Where submissions go that failed for a reason retrying will not fix (kept, with why)."""
    return settings.subject("submissions.dead")


def fpindex_subject(settings: Settings, shard: int | str) -> str:
    """Subject of one index shard; ``"*"`` gives the wildcard covering all shards."""
    return settings.subject(f"fpindex.{shard}")


def stream_configs(settings: Settings) -> list[StreamConfig]:
    return [
        StreamConfig(
            name=settings.stream(SUBMISSIONS),
            subjects=[submissions_subject(settings), dead_letter_subject(settings)],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            duplicate_window=DEDUPE_WINDOW_SECONDS,
        ),
        StreamConfig(
            name=settings.stream(FPINDEX),
            subjects=[fpindex_subject(settings, "*")],
            retention=RetentionPolicy.LIMITS,
            discard=DiscardPolicy.OLD,
            storage=StorageType.FILE,
            duplicate_window=DEDUPE_WINDOW_SECONDS,
            # The replicas purge what all of them have checkpointed; this only bounds the
            # log a dead replica's consumer would otherwise hold forever.
            max_age=settings.index_log_max_age,
        ),
    ]


async def connect(settings: Settings, name: str) -> Client:
    """Connects with unbounded reconnects: a NATS restart must stall a service, not kill it."""

    async def on_error(exc: Exception) -> None:
        log.warning("nats error: %s", exc)

    async def on_disconnect() -> None:
        log.warning("nats disconnected")

    async def on_reconnect() -> None:
        log.info("nats reconnected")

    return await nats.connect(
        servers=settings.nats_servers,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=2,
        allow_reconnect=True,
        error_cb=on_error,
        disconnected_cb=on_disconnect,
        reconnected_cb=on_reconnect,
    )


async def ensure_streams(js: JetStreamContext, settings: Settings) -> None:
    """Creates the streams or updates them to this configuration; any process may call it."""
    for config in stream_configs(settings):
        assert config.name is not None
        try:
            await js.stream_info(config.name)
        except NotFoundError:
            await js.add_stream(config)
            log.info("created stream %s", config.name)
        else:
            await js.update_stream(config)


async def delete_streams(settings: Settings) -> None:
    """Removes this deployment's streams: what tests and benchmarks with a private
    ``nats_prefix`` leave behind. Streams already gone are fine."""
    nc = await connect(settings, "cleanup")
    try:
        js = nc.jetstream()
        for name in (SUBMISSIONS, FPINDEX, f"KV_{settings.stream(FPINDEX_TRIM)}"):
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(name if name.startswith("KV_") else settings.stream(name))
    finally:
        await nc.close()
