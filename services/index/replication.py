"""FPINDEX as the index's write-ahead log and replication feed.

Every write, from the worker or from this index's own HTTP/legacy routes, is published to
the shard's subject first; the stream sequence becomes the index version. Each replica
applies its subject in order through a durable pull consumer that starts at the manifest's
``applied_seq + 1``, and acknowledges (ack-all) only what a checkpoint has made durable in
its own files. A kill -9 therefore loses at most un-checkpointed memory segments, which the
stream hands back on restart; the store skips anything at or below its version, so nothing
is applied twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import BinaryIO

import httpx
import msgpack
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import (
    APIError,
    BucketNotFoundError,
    FetchTimeoutError,
    KeyNotFoundError,
    NotFoundError,
)
from nats.js.kv import KeyValue

from libs.common import index_messages
from libs.common.index_messages import MSG_ID_HEADER, Batch, InvalidChange
from libs.common.nats import FPINDEX, FPINDEX_TRIM, ensure_streams, fpindex_subject
from libs.common.settings import Settings
from services.index import manifest, metrics, segment
from services.index.store import Store
from services.index.wal import Wal

log = logging.getLogger(__name__)

FETCH_BATCH = 256
MAX_PAYLOAD = 512 * 1024
TRIM_INTERVAL = 5.0
INCOMING = "incoming"
WRONG_LAST_SEQUENCE = 10071
REPLICA_FILE = "replica_id"


class WriteRefused(Exception):
    """A write the caller must hear about; ``name`` and ``status`` are the anchor's."""

    def __init__(self, name: str, status: int) -> None:
        super().__init__(name)
        self.name = name
        self.status = status


class FellBehind(Exception):
    """FPINDEX no longer holds changes this replica has not applied (purged or expired)."""


def replica_id(directory: Path) -> str:
    """A name for this replica's durable consumer, kept with its data so it survives restarts."""
    path = directory / REPLICA_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        value = secrets.token_hex(6)
        path.write_text(value + "\n")
        return value


class Replicator:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        nats: Callable[[], NATS | None],
        wal: Wal | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.wal = wal
        self._nats = nats
        self._applied = asyncio.Condition()
        self._apply_lock = asyncio.Lock()
        self._durable = asyncio.Event()
        self._replica = f"index_{settings.index_shard}_{replica_id(store.directory)}"
        self.consumer = self._replica
        self._trimmed_at = 0.0
        self._purged = 0
        self.connected = asyncio.Event()

    @property
    def subject(self) -> str:
        return fpindex_subject(self.settings, self.settings.index_shard)

    def notify_durable(self, loop: asyncio.AbstractEventLoop) -> Callable[[int], None]:
        """The store's checkpoint callback: runs in a worker thread, wakes the consumer."""

        def wake(_seq: int) -> None:
            loop.call_soon_threadsafe(self._durable.set)

        return wake

    async def _client(self) -> NATS:
        while True:
            nc = self._nats()
            if nc is not None and nc.is_connected:
                return nc
            await asyncio.sleep(0.1)

    async def run(self) -> None:
        """Consumes this shard's subject until cancelled; reconnects through NATS outages and
        copies a peer's snapshot when the stream no longer holds what this replica needs."""
        accept_gap = False
        while True:
            try:
                await self._consume(accept_gap)
            except asyncio.CancelledError:
                raise
            except FellBehind as exc:
                metrics.REPLICATION_GAPS.inc()
                log.error("%s; copying a peer's snapshot", exc)
                if not await self._rebootstrap():
                    # Serving what the stream still has beats serving nothing new at all.
                    log.error("no peer (INDEX_PEERS) gave a snapshot: rebuild this replica")
                    accept_gap = True
            except Exception:
                metrics.REPLICATION_ERRORS.inc()
                log.exception("FPINDEX consumer failed; restarting it")
                await asyncio.sleep(1.0)

    async def _rebootstrap(self) -> bool:
        incoming = self.store.directory / INCOMING
        shutil.rmtree(incoming, ignore_errors=True)
        incoming.mkdir()
        try:
            ok = await bootstrap(
                incoming, self.settings.index_peers, self.settings.index_name, 600.0
            )
            if ok:
                await asyncio.to_thread(self.store.adopt, incoming)
                log.info("replica bootstrapped again at version %d", self.store.version)
            return ok
        finally:
            shutil.rmtree(incoming, ignore_errors=True)

    async def _consume(self, accept_gap: bool = False) -> None:
        nc = await self._client()
        js = nc.jetstream()
        await ensure_streams(js, self.settings)
        stream = self.settings.stream(FPINDEX)
        state = (await js.stream_info(stream)).state
        if state.last_seq < self.store.version:
            # The NATS server lost messages it had acknowledged (its store was not synced):
            # apply again from what it holds, after publishing our logged writes again.
            log.error(
                "FPINDEX ends at %d but this replica applied %d: NATS lost acknowledged writes",
                state.last_seq,
                self.store.version,
            )
            await asyncio.to_thread(self.store.rewind, state.last_seq)
        await self._republish_lost(js, stream, state.last_seq)
        start = self.store.version + 1
        trimmed = await self._trim_point(js)
        if self.settings.index_shards == 1:  # then the stream's first message is the shard's
            state = (await js.stream_info(stream)).state
            if state.first_seq > start and state.last_seq >= start:
                trimmed = max(trimmed, state.first_seq - 1)
        if trimmed >= start and not accept_gap:
            raise FellBehind(
                f"FPINDEX no longer holds sequences {start}..{trimmed} of {self.subject}"
            )
        config = ConsumerConfig(
            durable_name=f"{self._replica}_{secrets.token_hex(3)}",
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start,
            ack_policy=AckPolicy.ALL,
            ack_wait=max(600.0, 10 * self.settings.index_checkpoint_age),
            max_ack_pending=1_000_000,
            filter_subject=self.subject,
        )
        # The new consumer exists before the old one goes, so this replica's position holds
        # the log throughout: another replica's purge never finds it without a consumer.
        await js.add_consumer(stream, config)
        assert config.durable_name is not None
        self.consumer = config.durable_name
        for info in await js.consumers_info(stream):
            mine = info.name == self._replica or info.name.startswith(self._replica + "_")
            if mine and info.name != self.consumer:
                with contextlib.suppress(NotFoundError):
                    await js.delete_consumer(stream, info.name)
        sub = await js.pull_subscribe_bind(self.consumer, stream=stream)
        log.info("consuming %s from sequence %d", config.filter_subject, start)
        self.connected.set()
        pending: list[tuple[int, Msg]] = []
        try:
            while True:
                try:
                    msgs = await sub.fetch(FETCH_BATCH, timeout=1.0)
                except (FetchTimeoutError, TimeoutError):
                    msgs = []
                for msg in msgs:
                    seq = msg.metadata.sequence.stream
                    await self._apply(seq, msg.data)
                    pending.append((seq, msg))
                pending = await self._ack_durable(pending)
                await self._trim(js, stream)
        finally:
            self.connected.clear()
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _trim_bucket(self, js: JetStreamContext) -> KeyValue:
        bucket = self.settings.stream(FPINDEX_TRIM)
        try:
            return await js.key_value(bucket)
        except BucketNotFoundError:
            return await js.create_key_value(bucket=bucket, history=1)

    async def _trim_point(self, js: JetStreamContext) -> int:
        """The highest sequence of this shard that a purge may have removed."""
        try:
            entry = await (await self._trim_bucket(js)).get(f"shard{self.settings.index_shard}")
        except KeyNotFoundError:
            return 0
        return int(entry.value or b"0")

    async def _republish_lost(self, js: JetStreamContext, stream: str, last_seq: int) -> None:
        """Publishes again each logged write above the checkpoint that the stream lost."""
        if self.wal is None:
            return
        records = await asyncio.to_thread(self.wal.records, self.store.durable_version)
        for record in records:
            if record.seq <= last_seq:
                try:
                    held = await js.get_msg(stream, seq=record.seq)
                except NotFoundError:
                    held = None
                if held is not None and (held.headers or {}).get(MSG_ID_HEADER) == record.msg_id:
                    continue
            ack = await js.publish(
                fpindex_subject(self.settings, record.shard),
                record.payload,
                timeout=self.settings.index_timeout * 5,
                headers={MSG_ID_HEADER: record.msg_id},
            )
            log.warning("published lost write %d again as %d", record.seq, ack.seq)
            await asyncio.to_thread(
                self.wal.append, ack.seq, record.shard, record.msg_id, record.payload
            )

    async def _apply(self, seq: int, payload: bytes) -> None:
        async with self._apply_lock:
            if seq <= self.store.version:
                return  # this replica's own write, applied when its publish was acknowledged
            try:
                batch = index_messages.decode_batch(payload)
            except InvalidChange as exc:
                metrics.REPLICATION_ERRORS.inc()
                log.error("FPINDEX message %d skipped: %s", seq, exc)
                batch = Batch.from_changes([])
            await self._apply_batch(seq, batch)

    async def _apply_batch(self, seq: int, batch: Batch) -> None:
        if await asyncio.to_thread(self.store.apply, seq, batch):
            metrics.UPDATES.inc(batch.size)
        async with self._applied:
            self._applied.notify_all()

    async def _apply_own(self, seq: int, batch: Batch) -> None:
        """Applies a write this replica just published if it is the next one, which saves
        the round trip through the consumer; otherwise the consumer applies it in order."""
        async with self._apply_lock:
            if seq == self.store.version + 1:
                await self._apply_batch(seq, batch)

    async def _ack_durable(self, pending: list[tuple[int, Msg]]) -> list[tuple[int, Msg]]:
        self._durable.clear()
        durable = self.store.durable_version
        done = [m for s, m in pending if s <= durable]
        if done:
            await done[-1].ack()
        return [(s, m) for s, m in pending if s > durable]

    async def _trim(self, js: JetStreamContext, stream: str) -> None:
        """Purges this shard's changes that every replica has checkpointed (the lowest ack
        floor of the shard's consumers); a replica that is down keeps its consumer, and so
        its place in the log, until ``index_log_max_age`` expires the messages."""
        now = time.monotonic()
        if now - self._trimmed_at < TRIM_INTERVAL:
            return
        self._trimmed_at = now
        floors = [
            info.ack_floor.stream_seq
            for info in await js.consumers_info(stream)
            if info.config.filter_subject == self.subject and info.ack_floor is not None
        ]
        floor = min(floors, default=0)
        if floor > self._purged:
            # The mark goes first: a replica that reads it knows what may be gone.
            bucket = await self._trim_bucket(js)
            await bucket.put(f"shard{self.settings.index_shard}", str(floor).encode())
            await js.purge_stream(stream, seq=floor + 1, subject=self.subject)
            self._purged = floor
            metrics.LOG_FLOOR.set(floor)
        if self.wal is not None:
            await asyncio.to_thread(self.wal.trim, self.store.durable_version)

    async def publish(self, batch: Batch, expected_version: int | None = None) -> int:
        """Publishes changes to their shards; returns the version to wait for on this shard.

        This replica applies its own shard's messages as their acks arrive and, with
        ``index_write_ack=fsync``, logs and fsyncs every message before returning.
        """
        nc = self._nats()
        if nc is None or not nc.is_connected:
            raise WriteRefused("CoordinatorError", 503)
        js = nc.jetstream()
        groups = batch.by_shard(self.settings.index_shards)
        own = self.settings.index_shard
        pieces = [(shard, chunk) for shard, g in groups.items() for chunk in g.chunks(MAX_PAYLOAD)]
        if expected_version is not None and (set(groups) - {own} or len(pieces) > 1):
            raise WriteRefused("BadRequest", 400)
        version = self.store.version
        for shard, chunk in pieces:
            payload = index_messages.encode_batch(chunk)
            msg_id = index_messages.new_msg_id()
            headers = {MSG_ID_HEADER: msg_id}
            if expected_version is not None:
                headers["Nats-Expected-Last-Subject-Sequence"] = str(expected_version)
            try:
                ack = await js.publish(
                    fpindex_subject(self.settings, shard),
                    payload,
                    timeout=self.settings.index_timeout * 5,
                    headers=headers,
                )
            except APIError as exc:
                if exc.err_code == WRONG_LAST_SEQUENCE:
                    raise WriteRefused("VersionMismatch", 409) from exc
                raise WriteRefused("CoordinatorError", 503) from exc
            except Exception as exc:
                log.warning("publishing to FPINDEX failed: %r", exc)
                raise WriteRefused("CoordinatorError", 503) from exc
            steps = []
            if shard == own:
                version = max(version, ack.seq)
                steps.append(self._apply_own(ack.seq, chunk))
            if self.wal is not None:
                steps.append(asyncio.to_thread(self.wal.append, ack.seq, shard, msg_id, payload))
            await asyncio.gather(*steps)
        return version

    async def wait_applied(self, version: int, timeout: float) -> None:
        """Read-your-writes: returns once this replica has applied ``version``."""
        try:
            async with self._applied:
                await asyncio.wait_for(
                    self._applied.wait_for(lambda: self.store.version >= version), timeout
                )
        except TimeoutError as exc:
            raise WriteRefused("ReplicationTimeout", 503) from exc


async def bootstrap(directory: Path, peers: Sequence[str], index: str, timeout: float) -> bool:
    """Copies a peer's snapshot into an empty ``directory``; False if no peer could give one.

    The segments land under temporary names and the manifest is written last, so a copy cut
    short leaves an index that still counts as empty and starts over.
    """
    for peer in peers:
        try:
            async with (
                httpx.AsyncClient(base_url=peer, timeout=timeout) as client,
                client.stream("GET", f"/{index}/_snapshot") as resp,
            ):
                resp.raise_for_status()
                found = await receive_snapshot(resp.aiter_bytes(), directory)
            log.info("bootstrapped from %s at version %d", peer, found.applied_seq)
            return True
        except (httpx.HTTPError, ValueError, segment.CorruptSegment) as exc:
            log.warning("snapshot from %s failed: %r", peer, exc)
    return False


async def receive_snapshot(chunks: AsyncIterator[bytes], directory: Path) -> manifest.Manifest:
    """Writes the segments and manifest of a ``/<index>/_snapshot`` stream into ``directory``
    (from a peer, or from a backup file by ``acoustid index restore``)."""
    unpacker = msgpack.Unpacker(raw=False)
    header = None
    async for chunk in chunks:
        unpacker.feed(chunk)
        try:
            header = unpacker.unpack()
            break
        except msgpack.OutOfData:
            continue
    if not isinstance(header, dict):
        raise ValueError("snapshot without a header")
    body = _Body(bytearray(unpacker.read_bytes(1 << 31)), chunks)
    names = []
    for entry in header["s"]:
        name, size = str(entry["n"]), int(entry["z"])
        if "/" in name or not name.endswith(".seg"):
            raise ValueError(f"bad segment name {name!r}")
        tmp = directory / (name + ".tmp")
        with open(tmp, "wb") as f:
            await body.copy(f, size)
            f.flush()
            os.fsync(f.fileno())
        tmp.rename(directory / name)
        segment.open_file(directory / name)
        names.append(name)
    found = manifest.Manifest(tuple(names), int(header["v"]), dict(header["a"]), int(header["g"]))
    manifest.save(directory, found)
    return found


class _Body:
    """The bytes after the msgpack header: what the unpacker read ahead, then the stream."""

    def __init__(self, buffered: bytearray, chunks: AsyncIterator[bytes]) -> None:
        self._buf = buffered
        self._chunks = chunks

    async def copy(self, f: BinaryIO, size: int) -> None:
        while size > 0:
            if not self._buf:
                try:
                    self._buf = bytearray(await anext(self._chunks))
                except StopAsyncIteration:
                    raise ValueError("snapshot cut short") from None
            piece = self._buf[:size]
            f.write(piece)
            del self._buf[: len(piece)]
            size -= len(piece)
