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
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import BinaryIO

import httpx
import msgpack
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import APIError, FetchTimeoutError, NotFoundError

from libs.common import index_messages
from libs.common.index_messages import Change, InvalidChange
from libs.common.nats import FPINDEX, ensure_streams, fpindex_subject
from libs.common.settings import Settings
from services.index import manifest, metrics, segment
from services.index.store import Store

log = logging.getLogger(__name__)

FETCH_BATCH = 256
MAX_PAYLOAD = 512 * 1024
WRONG_LAST_SEQUENCE = 10071
REPLICA_FILE = "replica_id"


class WriteRefused(Exception):
    """A write the caller must hear about; ``name`` and ``status`` are the anchor's."""

    def __init__(self, name: str, status: int) -> None:
        super().__init__(name)
        self.name = name
        self.status = status


def replica_id(directory: Path) -> str:
    """A name for this replica's durable consumer, kept with its data so it survives restarts."""
    path = directory / REPLICA_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        value = secrets.token_hex(6)
        path.write_text(value + "\n")
        return value


def _chunks(changes: Sequence[Change]) -> list[list[Change]]:
    """Changes cut into messages under ``MAX_PAYLOAD`` (NATS refuses payloads over 1 MB)."""
    out: list[list[Change]] = []
    current: list[Change] = []
    size = 0
    for change in changes:
        cost = 40
        if isinstance(change, index_messages.Insert):
            cost += 4 * len(change.terms)
        elif isinstance(change, index_messages.SetAttributes):
            cost += sum(len(k) + len(v) for k, v in change.values.items())
        if current and size + cost > MAX_PAYLOAD:
            out.append(current)
            current, size = [], 0
        current.append(change)
        size += cost
    if current:
        out.append(current)
    return out


class Replicator:
    def __init__(self, settings: Settings, store: Store, nats: Callable[[], NATS | None]) -> None:
        self.settings = settings
        self.store = store
        self._nats = nats
        self._applied = asyncio.Condition()
        self._durable = asyncio.Event()
        self.consumer = f"index_{settings.index_shard}_{replica_id(store.directory)}"
        self.connected = asyncio.Event()

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
        """Consumes this shard's subject until cancelled; reconnects through NATS outages."""
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception:
                metrics.REPLICATION_ERRORS.inc()
                log.exception("FPINDEX consumer failed; restarting it")
                await asyncio.sleep(1.0)

    async def _consume(self) -> None:
        nc = await self._client()
        js = nc.jetstream()
        await ensure_streams(js, self.settings)
        stream = self.settings.stream(FPINDEX)
        with contextlib.suppress(NotFoundError):
            await js.delete_consumer(stream, self.consumer)
        start = self.store.version + 1
        state = (await js.stream_info(stream)).state
        first = state.first_seq
        if first > start and state.last_seq >= start:
            metrics.REPLICATION_GAPS.inc()
            log.error(
                "FPINDEX no longer holds sequences %d..%d this replica has not applied; changes "
                "to it are missing: bootstrap it from a peer (INDEX_PEERS) or rebuild it",
                start,
                first - 1,
            )
        config = ConsumerConfig(
            durable_name=self.consumer,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start,
            ack_policy=AckPolicy.ALL,
            ack_wait=max(600.0, 10 * self.settings.index_checkpoint_age),
            max_ack_pending=1_000_000,
            filter_subject=fpindex_subject(self.settings, self.settings.index_shard),
        )
        await js.add_consumer(stream, config)
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
        finally:
            self.connected.clear()
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _apply(self, seq: int, payload: bytes) -> None:
        try:
            changes = index_messages.decode(payload)
        except InvalidChange as exc:
            metrics.REPLICATION_ERRORS.inc()
            log.error("FPINDEX message %d skipped: %s", seq, exc)
            changes = []
        if await asyncio.to_thread(self.store.apply, seq, changes):
            metrics.UPDATES.inc(len(changes))
        async with self._applied:
            self._applied.notify_all()

    async def _ack_durable(self, pending: list[tuple[int, Msg]]) -> list[tuple[int, Msg]]:
        self._durable.clear()
        durable = self.store.durable_version
        done = [m for s, m in pending if s <= durable]
        if done:
            await done[-1].ack()
        return [(s, m) for s, m in pending if s > durable]

    async def publish(self, changes: Sequence[Change], expected_version: int | None = None) -> int:
        """Publishes changes to their shards; returns the version to wait for on this shard."""
        nc = self._nats()
        if nc is None or not nc.is_connected:
            raise WriteRefused("CoordinatorError", 503)
        js = nc.jetstream()
        shards = self.settings.index_shards
        groups = index_messages.split_by_shard(changes, shards)
        own = self.settings.index_shard
        if expected_version is not None and (set(groups) - {own} or len(_chunks(changes)) > 1):
            raise WriteRefused("BadRequest", 400)
        version = self.store.version
        for shard, group in groups.items():
            for chunk in _chunks(group):
                headers = {index_messages.MSG_ID_HEADER: index_messages.new_msg_id()}
                if expected_version is not None:
                    headers["Nats-Expected-Last-Subject-Sequence"] = str(expected_version)
                try:
                    ack = await js.publish(
                        fpindex_subject(self.settings, shard),
                        index_messages.encode(chunk),
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
                if shard == own:
                    version = max(version, ack.seq)
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
